// `npm run bench`: runs every scenario in bench/ and prints its figures and its ratio against a
// baseline measured in the same run. Usage: npm run bench [-- scenario-name-substring]
import os from 'node:os'

const scenarios = ['./core-route.mjs', './stack-deploy.mjs', './signalr-transport.mjs', './midtier-agents.mjs', './agent-footprint.mjs', './agent-bundle.mjs', './agent-containers.mjs', './storage-ingest.mjs', './hub-fleet.mjs', './midtier-ingest.mjs', './fleet-command-rtt.mjs', './fleet-midtier-restart.mjs', './fleet-scale.mjs', './midtier-100k.mjs', './fleet-multihub.mjs', './alerts.mjs', './host-history.mjs', './streams-logs.mjs']
const filter = process.argv[2]

console.log(`thresh benchmarks — ${new Date().toISOString().slice(0, 10)} — ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.versions.node}`)
for (const path of scenarios) {
  const scenario = await import(path)
  if (filter && !scenario.name.includes(filter)) continue
  console.log(`\n## ${scenario.name}`)
  const result = await scenario.run()
  for (const [label, value] of result.rows) console.log(`  ${label.padEnd(36)} ${value}`)
  for (const ratio of [result.ratio].flat().filter(Boolean)) {
    console.log(`  ${('ratio: ' + ratio.label).padEnd(36)} ${ratio.value.toFixed(2)}  (target ${ratio.target})`)
  }
}
process.exit(0)
