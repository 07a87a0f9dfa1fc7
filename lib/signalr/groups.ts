// Group membership with an index from each connection to its groups, so a disconnect removes the
// connection from its own groups instead of scanning all of them.

export interface GroupIndex {
  add(connectionId: string, group: string): void
  remove(connectionId: string, group: string): void
  removeConnection(connectionId: string): void
  members(group: string): ReadonlySet<string>
  groupsOf(connectionId: string): ReadonlySet<string>
  readonly size: number
}

const EMPTY: ReadonlySet<string> = new Set()

export function createGroupIndex(): GroupIndex {
  const byGroup = new Map<string, Set<string>>()
  const byConnection = new Map<string, Set<string>>()
  return {
    add(connectionId, group) {
      let members = byGroup.get(group)
      if (!members) byGroup.set(group, (members = new Set()))
      members.add(connectionId)
      let groups = byConnection.get(connectionId)
      if (!groups) byConnection.set(connectionId, (groups = new Set()))
      groups.add(group)
    },
    remove(connectionId, group) {
      const members = byGroup.get(group)
      if (members) {
        members.delete(connectionId)
        if (members.size === 0) byGroup.delete(group)
      }
      const groups = byConnection.get(connectionId)
      if (groups) {
        groups.delete(group)
        if (groups.size === 0) byConnection.delete(connectionId)
      }
    },
    removeConnection(connectionId) {
      const groups = byConnection.get(connectionId)
      if (!groups) return
      byConnection.delete(connectionId)
      for (const group of groups) {
        const members = byGroup.get(group)
        if (!members) continue
        members.delete(connectionId)
        if (members.size === 0) byGroup.delete(group)
      }
    },
    members: (group) => byGroup.get(group) ?? EMPTY,
    groupsOf: (connectionId) => byConnection.get(connectionId) ?? EMPTY,
    get size() {
      return byGroup.size
    },
  }
}
