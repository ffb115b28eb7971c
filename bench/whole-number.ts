/** A benchmark flag parsed by node:util parseArgs as a string, read as a whole number in [min, max]. */
export function wholeNumber(values: Record<string, unknown>, flag: string, min: number, max: number): number {
  const n = Number(values[flag]);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new Error(`--${flag} must be a whole number from ${min} to ${max}, got "${values[flag]}"`);
  }
  return n;
}
