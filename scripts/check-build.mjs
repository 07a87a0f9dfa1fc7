// Fails the build when compiled JS still imports a relative `.ts` file (tsc leaves some dynamic
// imports unrewritten, e.g. inside `export default call(...)`), which would break `npx thresh` on Node.
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'

const offenders = []
const walk = (dir) => {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name)
    if (statSync(path).isDirectory()) walk(path)
    else if (path.endsWith('.js')) {
      const text = readFileSync(path, 'utf8')
      for (const match of text.matchAll(/(?:import\(|from\s)\s*['"](\.{1,2}\/[^'"]+\.ts)['"]/g)) offenders.push(`${path}: ${match[1]}`)
    }
  }
}
walk(new URL('../dist', import.meta.url).pathname)
if (offenders.length) {
  console.error('[thresh] build: relative .ts imports left in dist (move the import out of `export default <call>`):\n' + offenders.join('\n'))
  process.exit(1)
}
