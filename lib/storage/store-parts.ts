// The FleetStore contract cut along its aggregates, so a store can be built one file per aggregate
// and assembled; types.ts stays the one place the contract itself is written.
import type { FleetStore } from './types.ts'

type Part<K extends keyof FleetStore> = Pick<FleetStore, K>

export type AccountsStore = Part<
  | 'createAccount'
  | 'getAccount'
  | 'listAccounts'
  | 'createUser'
  | 'findUserByName'
  | 'getUser'
  | 'listUsers'
  | 'updateUser'
  | 'countUsers'
  | 'deleteUser'
  | 'createSession'
  | 'findSessionByHash'
  | 'listSessions'
  | 'touchSession'
  | 'revokeSession'
  | 'pruneSessions'
>
export type InvitationsStore = Part<'createInvitation' | 'findInvitationByHash' | 'getInvitation' | 'listInvitations' | 'revokeInvitation' | 'acceptInvitation'>
export type KeysStore = Part<'createKey' | 'findKeyByHash' | 'getKey' | 'listKeys' | 'updateKey' | 'rotateKey'>
export type NodesStore = Part<
  'upsertNode' | 'getNode' | 'findNode' | 'listNodes' | 'updateNode' | 'deleteNode' | 'countNodes' | 'markStaleNodesOffline' | 'pruneStaleNodes'
>
export type ClustersStore = Part<'createCluster' | 'getCluster' | 'getClusterByName' | 'listClusters' | 'deleteCluster' | 'setNodeCluster' | 'listClusterNodes'>
export type StacksStore = Part<'upsertStack' | 'getStack' | 'getStackByName' | 'listStacks' | 'updateStack' | 'setServiceStatus' | 'deleteStack'>
export type CommandsStore = Part<'createCommand' | 'getCommand' | 'updateCommand' | 'finishCommand' | 'listCommands' | 'timeOutCommands'>
export type MetricsStore = Part<'appendMetrics' | 'queryMetrics' | 'queryContainerMetrics' | 'maintainMetrics'>
export type AuditStore = Part<'appendAudit' | 'listAudit'>
