// Guards what makes core/ the core: it stays small, imports only its own files (and Hono's and consola's types), and
// touches no runtime API, so every runtime and the browser can load it and plugins do the rest.
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import ts from 'typescript'
import { describe, expect, it } from 'vitest'
import { repoRoot } from '../support/process.ts'

// core/ had 872 lines on main when this guard was written; this is about 15% more. Raise it
// deliberately, in its own commit, saying what core gained.
const LINE_BUDGET = 1000

// Runtime globals core must not reach for; adapters/ is the one place that does.
const RUNTIME_GLOBALS = new Set(['process', 'Deno', 'Bun', 'Buffer', 'require', '__dirname', '__filename'])

// Known breaches, reported in #11 and left to core's owner; an entry that no longer applies fails below,
// so this list can only shrink.
const KNOWN_BREACHES: Record<string, string[]> = {}

const coreDir = join(repoRoot, 'core')
const files = readdirSync(coreDir).filter((name) => name.endsWith('.ts'))
const source = (name: string) => readFileSync(join(coreDir, name), 'utf8')

function breaches(name: string): string[] {
  const file = ts.createSourceFile(name, source(name), ts.ScriptTarget.ESNext, true)
  const found: string[] = []
  const checkImport = (specifier: string, typeOnly: boolean) => {
    if (/^\.\/[^/]+\.ts$/.test(specifier)) return
    if (typeOnly && /^(hono|consola)(\/|$)/.test(specifier)) return
    found.push(`imports '${specifier}'${typeOnly ? '' : ' at run time'}`)
  }
  const visit = (node: ts.Node) => {
    if (ts.isImportDeclaration(node) && ts.isStringLiteral(node.moduleSpecifier)) {
      // Under verbatimModuleSyntax only `import type` is erased; `import { type X }` still loads the module.
      checkImport(node.moduleSpecifier.text, node.importClause?.isTypeOnly === true)
    } else if (ts.isExportDeclaration(node) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) {
      checkImport(node.moduleSpecifier.text, node.isTypeOnly)
    } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) {
      const [specifier] = node.arguments
      if (specifier && ts.isStringLiteral(specifier)) checkImport(specifier.text, false)
      else found.push('imports a computed module name')
    } else if (ts.isIdentifier(node) && RUNTIME_GLOBALS.has(node.text)) {
      const parent = node.parent
      const isMemberName =
        (ts.isPropertyAccessExpression(parent) && parent.name === node && !/\bglobalThis\b/.test(parent.expression.getText())) ||
        (ts.isPropertyAssignment(parent) && parent.name === node)
      if (!isMemberName) found.push(`uses the runtime global '${node.text}'`)
    }
    ts.forEachChild(node, visit)
  }
  visit(file)
  return found
}

describe('core/', () => {
  it(`stays within its budget of ${LINE_BUDGET} lines`, () => {
    const lines = Object.fromEntries(files.map((name) => [name, source(name).split('\n').length - 1]))
    const total = Object.values(lines).reduce((a, b) => a + b, 0)
    expect(total, `core/ has ${total} lines: ${JSON.stringify(lines)}`).toBeLessThanOrEqual(LINE_BUDGET)
  })

  it.each(files)('%s imports only core files and the types of hono and consola, and no runtime API', (name) => {
    expect(breaches(name)).toEqual(KNOWN_BREACHES[name] ?? [])
  })

  it('names no known breach for a file that is gone', () => {
    expect(Object.keys(KNOWN_BREACHES).filter((name) => !files.includes(name))).toEqual([])
  })
})
