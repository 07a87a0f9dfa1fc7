// Writes one file into a container (created or running) through Docker's archive API: a one-entry tar.
import type Docker from 'dockerode'

/** A POSIX ustar header block for a regular file or directory. */
function header(name: string, size: number, directory: boolean): Uint8Array {
  const block = new Uint8Array(512)
  const put = (text: string, offset: number, length: number) => block.set(new TextEncoder().encode(text).subarray(0, length), offset)
  const octal = (n: number, length: number) => n.toString(8).padStart(length - 1, '0')
  put(name, 0, 100)
  put(octal(directory ? 0o755 : 0o644, 8), 100, 8)
  put(octal(0, 8), 108, 8)
  put(octal(0, 8), 116, 8)
  put(octal(size, 12), 124, 12)
  put(octal(Math.floor(Date.now() / 1000), 12), 136, 12)
  put('        ', 148, 8)
  put(directory ? '5' : '0', 156, 1)
  put('ustar\u000000', 257, 8)
  let sum = 0
  for (const byte of block) sum += byte
  put(`${octal(sum, 7)}\u0000 `, 148, 8)
  return block
}

/** A tar holding `path` (absolute, e.g. /etc/thresh/caddy.json) with its parent directories. */
export function tarOf(path: string, content: string): Buffer {
  const parts = path.replace(/^\/+/, '').split('/')
  const blocks: Uint8Array[] = []
  for (let i = 1; i < parts.length; i++) blocks.push(header(`${parts.slice(0, i).join('/')}/`, 0, true))
  const body = new TextEncoder().encode(content)
  blocks.push(header(parts.join('/'), body.length, false), body, new Uint8Array((512 - (body.length % 512)) % 512), new Uint8Array(1024))
  return Buffer.concat(blocks)
}

export async function putFile(container: Docker.Container, path: string, content: string): Promise<void> {
  await container.putArchive(tarOf(path, content), { path: '/' })
}
