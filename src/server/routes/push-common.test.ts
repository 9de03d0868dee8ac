import { expect, test } from 'vitest';
import { PushBudget } from './push-common.js';

test('PushBudget admits one request of any size when idle, and none past its bound while others hold bytes', () => {
  const budget = new PushBudget(100);
  expect(budget.take(150)).toBe(true);
  expect(budget.take(1)).toBe(false);
  budget.release(150);
  expect(budget.take(60)).toBe(true);
  expect(budget.take(40)).toBe(true);
  expect(budget.take(1)).toBe(false);
  budget.release(60);
  budget.release(40);
  expect(budget.bytes).toBe(0);
});
