/** Entry point: parses arguments and owns the process exit code. */
export async function main(_argv: string[]): Promise<number> {
  return 0;
}
