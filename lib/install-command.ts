// The one command that adds a node (issue #12), printed where an agent key is created (`thresh keys
// create --type agent`, the dashboard's "Add node"). Pasted on the node, it downloads the hub's
// install script (install/agent.sh, served at /install/agent.sh) and runs it with the key in its
// environment. With the fleet CA's pin it first downloads the CA unverified (`curl -k`), checks its
// SHA-256 against the pin, and from then on trusts only that CA (`curl --cacert`).

const quote = (value: string) => `'${value.replace(/'/g, `'\\''`)}'`

export interface InstallCommandOptions {
  /** Where nodes reach the hub. */
  hubUrl: string
  /** The agent key (thresh_live_…). */
  key: string
  /** The fleet CA's `sha256:<hex>`, for an https hub whose certificate it signed. */
  fingerprint?: string
}

export function agentInstallCommand(options: InstallCommandOptions): string {
  const hub = options.hubUrl.replace(/\/+$/, '')
  const run = (tls: string, pin: string) =>
    `curl -fsS${tls} ${quote(`${hub}/install/agent.sh`)} -o "$d/agent.sh" && THRESH_API_KEY=${quote(options.key)} sh "$d/agent.sh" --hub ${quote(hub)}${pin}`
  if (!options.fingerprint) return `d=$(mktemp -d) && ${run('', '')}`
  const fingerprint = options.fingerprint.toLowerCase()
  const hex = fingerprint.replace(/^sha256:/, '')
  return [
    `d=$(mktemp -d) && curl -fsSk ${quote(`${hub}/install/ca.pem`)} -o "$d/ca.pem"`,
    `{ [ "$(sed '/-----/d' "$d/ca.pem" | base64 -d | sha256sum | cut -d' ' -f1)" = ${hex} ] || { echo "thresh: the hub's CA is not ${fingerprint}: not installing" >&2; false; }; }`,
    run(` --cacert "$d/ca.pem"`, ` --fingerprint ${fingerprint} --ca "$d/ca.pem"`),
  ].join(' && ')
}
