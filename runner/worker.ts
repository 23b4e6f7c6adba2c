/**
 * One stack of a run, in a process of its own: reads the job (the planned stack and the run's
 * options) as JSON on stdin, deploys it with the Automation API (runner/run.ts), and prints the
 * result as one line after RESULT_MARKER on stdout.
 */
import { PlannedStack } from "./plan";
import { RESULT_MARKER, runStackInProcess, WorkerOptions } from "./run";

async function main(): Promise<void> {
  let input = "";
  for await (const chunk of process.stdin) input += String(chunk);
  const job = JSON.parse(input) as { planned: PlannedStack; options: WorkerOptions };
  const result = await runStackInProcess(job.planned, job.options);
  process.stdout.write(`${RESULT_MARKER}${JSON.stringify(result)}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exitCode = 1;
});
