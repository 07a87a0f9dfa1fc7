// Finds where a JSON text stops being valid, so syntax errors can name a line and column on any runtime
// (engines word JSON.parse errors differently, and some give no position at all).

export interface JsonSyntaxProblem {
  line: number
  column: number
  message: string
}

export function locateJsonError(text: string): JsonSyntaxProblem | undefined {
  let i = 0
  const fail = (message: string): never => {
    throw new LocatedError(i, message)
  }
  const ws = () => {
    while (i < text.length && ' \t\n\r'.includes(text[i]!)) i++
  }
  const describe = () => (i >= text.length ? 'end of input' : `'${text[i]}'`)
  const value = (): void => {
    ws()
    const c = text[i]
    if (c === '{') return object()
    if (c === '[') return array()
    if (c === '"') return string()
    if (c === '-' || (c !== undefined && c >= '0' && c <= '9')) return number()
    for (const word of ['true', 'false', 'null']) {
      if (text.startsWith(word, i)) {
        i += word.length
        return
      }
    }
    fail(`unexpected ${describe()}, expected a value`)
  }
  const object = () => {
    i++
    ws()
    if (text[i] === '}') return void i++
    for (;;) {
      ws()
      if (text[i] !== '"') fail(`unexpected ${describe()}, expected a property name in double quotes`)
      string()
      ws()
      if (text[i] !== ':') fail(`unexpected ${describe()}, expected ':'`)
      i++
      value()
      ws()
      if (text[i] === ',') {
        i++
        continue
      }
      if (text[i] === '}') return void i++
      fail(`unexpected ${describe()}, expected ',' or '}'`)
    }
  }
  const array = () => {
    i++
    ws()
    if (text[i] === ']') return void i++
    for (;;) {
      value()
      ws()
      if (text[i] === ',') {
        i++
        continue
      }
      if (text[i] === ']') return void i++
      fail(`unexpected ${describe()}, expected ',' or ']'`)
    }
  }
  const string = () => {
    i++
    while (i < text.length && text[i] !== '"') {
      const code = text.charCodeAt(i)
      if (code < 0x20) fail('control character inside a string')
      if (text[i] === '\\') {
        i++
        const e = text[i]
        if (e === 'u') {
          if (!/^[0-9a-fA-F]{4}$/.test(text.slice(i + 1, i + 5))) fail('invalid \\u escape')
          i += 4
        } else if (e === undefined || !'"\\/bfnrt'.includes(e)) fail('invalid escape in a string')
      }
      i++
    }
    if (i >= text.length) fail('unterminated string')
    i++
  }
  const number = () => {
    const match = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/.exec(text.slice(i))
    if (!match) fail('invalid number')
    i += match![0].length
  }

  try {
    value()
    ws()
    if (i < text.length) fail(`unexpected ${describe()} after the end of the document`)
    return undefined
  } catch (error) {
    if (!(error instanceof LocatedError)) throw error
    const before = text.slice(0, error.offset)
    const lines = before.split('\n')
    return { line: lines.length, column: lines[lines.length - 1]!.length + 1, message: error.message }
  }
}

class LocatedError extends Error {
  readonly offset: number
  constructor(offset: number, message: string) {
    super(message)
    this.offset = offset
  }
}
