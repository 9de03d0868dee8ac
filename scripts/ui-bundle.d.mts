/** Types for scripts/ui-bundle.mjs (used by the UI tests and measurements). */
export interface BuiltFileSize {
  raw: number;
  gzip: number;
}
export function build(options?: { outDir?: string; quiet?: boolean }): Promise<Record<string, BuiltFileSize>>;
