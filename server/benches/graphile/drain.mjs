// graphile-worker 0.18 draining JOBS no-op jobs on DATABASE_URL, in the fastest configuration
// its documentation gives (24 concurrent jobs, a local queue of 500, batched completion), for
// the reference line of billops' engine benchmark. Prints `jobs_per_second=N`.
// With CONFIG=default, graphile-worker's defaults instead.
import { makeWorkerUtils, run } from "graphile-worker";

const connectionString = process.env.DATABASE_URL;
const jobs = Number(process.env.JOBS || 20000);
const fastest = process.env.CONFIG !== "default";
const preset = {
  worker: fastest
    ? {
        connectionString,
        concurrentJobs: 24,
        maxPoolSize: 24,
        localQueue: { size: 500 },
        completeJobBatchDelay: 0,
        failJobBatchDelay: 0,
        pollInterval: 2000,
      }
    : { connectionString },
};

const utils = await makeWorkerUtils({ connectionString });
await utils.migrate();
const specs = Array.from({ length: jobs }, (_, i) => ({ identifier: "noop", payload: { i } }));
for (let i = 0; i < specs.length; i += 5000) {
  await utils.addJobs(specs.slice(i, i + 5000));
}
const pending = async () => {
  const { rows } = await utils.withPgClient((client) =>
    client.query("select count(*)::int as n from graphile_worker.jobs"),
  );
  return rows[0].n;
};
if ((await pending()) !== jobs) throw new Error("jobs were not all added");

const started = process.hrtime.bigint();
const runner = await run({
  preset,
  taskList: { noop: async () => {} },
  noHandleSignals: true,
  logger: undefined,
});
while ((await pending()) > 0) {
  await new Promise((resolve) => setTimeout(resolve, 5));
}
const seconds = Number(process.hrtime.bigint() - started) / 1e9;
await runner.stop();
await utils.release();
console.log(`jobs=${jobs}`);
console.log(`seconds=${seconds.toFixed(3)}`);
console.log(`jobs_per_second=${Math.round(jobs / seconds)}`);
