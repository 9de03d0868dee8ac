// Builds the web UI bundle into ui-dist/ (filled in by the UI work; a no-op until ui/ has an entry).
import { existsSync } from 'node:fs';
if (!existsSync(new URL('../ui/main.tsx', import.meta.url))) process.exit(0);
const { build } = await import('./ui-bundle.mjs');
await build();
