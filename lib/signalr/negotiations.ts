// Negotiations not yet used by a transport, counted per owner (an account) as well as in total, so
// one tenant filling the table cannot lock every other tenant out of negotiate.

export class PendingNegotiations<C> {
  private readonly owners = new Map<C, string | undefined>()
  private readonly counts = new Map<string, number>()

  get size(): number {
    return this.owners.size
  }

  countOf(owner: string): number {
    return this.counts.get(owner) ?? 0
  }

  add(connection: C, owner: string | undefined): void {
    if (this.owners.has(connection)) return
    this.owners.set(connection, owner)
    if (owner !== undefined) this.counts.set(owner, this.countOf(owner) + 1)
  }

  delete(connection: C): boolean {
    if (!this.owners.has(connection)) return false
    const owner = this.owners.get(connection)
    this.owners.delete(connection)
    if (owner !== undefined) {
      const left = this.countOf(owner) - 1
      if (left > 0) this.counts.set(owner, left)
      else this.counts.delete(owner)
    }
    return true
  }
}
