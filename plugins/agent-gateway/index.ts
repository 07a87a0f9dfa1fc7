// The agent-gateway plugin: the one agent gateway of a hub or a mid-tier, with the SignalR agent hub
// (`/agenthub`) on it; transport-rest-poll adds REST polling to the same gateway.
import { definePlugin, ThreshError } from '../../core/index.ts'
import { createAgentGateway, mountAgentHub, type AgentAdmission, type AgentAuthenticator, type AgentGateway } from '../../lib/agent-session/server/index.ts'

/** The gateway, and the seam through which the plugin that owns agent keys plugs in. */
export interface AgentGatewayService extends AgentGateway {
  /**
   * Decides which agent keys get in: hub-fleet on a hub (live keys in its store), midtier-relay on a
   * mid-tier (asks the hub). Set once, during that plugin's setup.
   */
  setAuthenticator(authenticate: AgentAuthenticator): void
  /**
   * Decides which key may register which agent id: hub-fleet on a hub, from the nodes it stores.
   * Without one, an id connected under one key is refused to any other key.
   */
  setAdmission(admit: AgentAdmission): void
}

declare module '../../core/index.ts' {
  interface ThreshServices {
    'agent-gateway': AgentGatewayService
  }
}

export interface AgentGatewayPluginOptions {
  /** A pushed command without a result is pushed again after this, ms (default 30 s). */
  redeliveryMs?: number
  /** A polling agent silent this long counts as gone, ms (default 90 s). */
  pollingOfflineMs?: number
}

export default definePlugin((options: AgentGatewayPluginOptions = {}) => ({
  name: 'agent-gateway',
  requires: ['signalr'],
  provides: ['agent-gateway'],
  setup(ctx) {
    // The plugin that owns agent keys is set up after this one, so it hands its authenticator in later;
    // no agent can connect before then, since the server listens only once every plugin is set up.
    let authenticator: AgentAuthenticator | undefined
    let admission: AgentAdmission | undefined
    const refused = ctx.metrics.counter('agent_reports_refused_total', 'Agent reports (registrations, metrics, results, status updates) refused for a bad shape.')
    const gateway = createAgentGateway({
      authenticate: (token) => {
        if (!authenticator) {
          throw new ThreshError({ code: 'agent_keys_unavailable', plugin: 'agent-gateway', status: 503, message: 'No plugin on this server validates agent keys.' })
        }
        return authenticator(token)
      },
      admit: (principal, info, transport) => (admission ? admission(principal, info, transport) : defaultAdmission(principal, info)),
      redeliveryMs: options.redeliveryMs ?? 30_000,
      pollingOfflineMs: options.pollingOfflineMs ?? 90_000,
      onRefused(error, principal) {
        refused.inc()
        // The field path only: a refused value may be anything, and is never echoed into logs.
        ctx.logger.debug(`Refused an agent report of account ${principal.accountId}: ${error.path} (${error.code}).`)
      },
    })
    const service: AgentGatewayService = Object.assign(gateway, {
      setAuthenticator(authenticate: AgentAuthenticator) {
        if (authenticator) {
          throw new ThreshError({ code: 'plugin_conflict', plugin: 'agent-gateway', message: 'Two plugins validate agent keys on this server; disable one of them.' })
        }
        authenticator = authenticate
      },
      setAdmission(admit: AgentAdmission) {
        if (admission) {
          throw new ThreshError({ code: 'plugin_conflict', plugin: 'agent-gateway', message: 'Two plugins decide agent registrations on this server; disable one of them.' })
        }
        admission = admit
      },
    })
    const defaultAdmission = (principal: Parameters<AgentAdmission>[0], info: Parameters<AgentAdmission>[1]) => gateway.assertOwner(principal, info.agentId)
    ctx.provide('agent-gateway', service)
    mountAgentHub(ctx.use('signalr'), gateway)
    ctx.hooks.hook('app:ready', () => {
      if (!authenticator) ctx.logger.warn('No plugin validates agent keys (hub-fleet on a hub, midtier-relay on a mid-tier): every agent will be refused.')
    })
    return () => gateway.close()
  },
}))
