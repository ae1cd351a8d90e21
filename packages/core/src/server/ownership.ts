/**
 * Sessions across nodes sharing a store and a bus (LL-NODE-1..9): claiming a session's next term,
 * taking it over from the node that held it (which lets go before the taker reads the record),
 * adopting a gone node's session, and the requests nodes make of each other (takeover, and send,
 * kick or remove by session id from any node).
 */
import { type CloseCode, CloseCode as Codes, type UnrecoveredReason } from '@lifeline/protocol'
import { Timer } from '../clock.js'
import type { ServerCore } from './core.js'
import { ServerSession } from './session.js'
import { adoptingState, owns } from './session-machine.js'
import type { ClaimPurpose, ClaimResult, NodeReply, NodeRequest, SessionRecord } from './store.js'

/** What taking a session from the store came to. */
export type Adoption =
  | { readonly session: ServerSession }
  /** It ended (or is ending) elsewhere: the resume gets this reason (LL-RESUME-4). */
  | { readonly reason: UnrecoveredReason }
  /** Another connection took it meanwhile (LL-RESUME-8): this one is told with this code. */
  | { readonly closed: CloseCode }

/** Claims lost to another resume before this one gives up (each loss means a newer owner). */
const MAX_CLAIMS = 4

const isFinal = (purpose: ClaimPurpose) => purpose === 'expire' || purpose === 'end'

export class Ownership {
  private readonly stopServing: () => void

  constructor(private readonly core: ServerCore) {
    const { bus, node } = core.options
    this.stopServing = bus.serve(node, (request) => this.answer(request))
  }

  /** This node stops answering other nodes (it shuts down, or halts as a crash would). */
  stop(): void {
    this.stopServing()
  }

  /** The claim effect: its answer goes back into the session's lifecycle. */
  claim(session: ServerSession, term: number, purpose: ClaimPurpose): void {
    const answer = (result: ClaimResult) =>
      this.core.transition(session, { type: result.won ? 'claim-won' : 'claim-lost', term })
    let result: ClaimResult | Promise<ClaimResult>
    try {
      result = this.core.options.store.claim(session.sid, { node: this.core.options.node, term, purpose })
    } catch (error) {
      result = Promise.reject(error)
    }
    if (!(result instanceof Promise)) return answer(result)
    result.then(answer, (error: unknown) => {
      this.core.reportError(error, 'store: claim failed')
      this.core.transition(session, { type: 'claim-lost', term })
    })
  }

  /**
   * The take-over effect (LL-NODE-3): asks the node that held the session to let go, waits for it (or
   * for its absence, or the timeout), then reads the record it left and hands the session over.
   */
  takeOver(session: ServerSession): void {
    const { bus, node, clock, handoverTimeoutMs, store } = this.core.options
    const previous = session.previousOwner
    const term = session.state.term
    const handOver = async (answered: boolean) => {
      const record = await store.getSession(session.sid)
      if (record !== undefined && record.ended === undefined) session.restore(record)
      // Without an answer the record may lag what the client saw: its next send says where it is.
      session.resync = record?.resync === true || !answered
      this.core.transition(session, { type: 'handed-over', term, wasAway: record?.expiresAt !== undefined })
    }
    const fail = (error: unknown) => {
      this.core.reportError(error, 'store: reading a session taken over failed')
      this.core.transition(session, { type: 'claim-lost', term: session.state.term })
    }
    if (previous === undefined || previous === node) return void handOver(true).catch(fail)
    const timer = new Timer(clock)
    let settled = false
    const finish = (answered: boolean) => {
      if (settled) return
      settled = true
      timer.clear()
      handOver(answered).catch(fail)
    }
    timer.set(handoverTimeoutMs, () => finish(false))
    bus.request(previous, { type: 'takeover', sid: session.sid, term, cid: session.pendingCid }).then(
      (reply) => finish(reply?.ok === true),
      () => finish(false),
    )
  }

  /**
   * Takes a session from the store (LL-NODE-3, LL-NODE-6): claims its next term, the previous owner
   * lets go, and the session continues here: connected for a resuming client (`cid`), away for a gone
   * node's session nobody is connected to.
   */
  async adopt(record: SessionRecord, connection: boolean, cid: string | undefined): Promise<Adoption> {
    const core = this.core
    const { store, node, clock } = core.options
    const session = new ServerSession(record.sid, record.subject, record.meta, clock, core)
    session.restore(record)
    session.pendingCid = cid
    session.previousOwner = record.node
    const purpose: ClaimPurpose = connection ? 'resume' : 'adopt'
    let term = record.term + 1
    session.state = adoptingState(term, connection)
    core.sessions.set(session.sid, session)
    core.sessionsBySubject.set(session.subject, (core.sessionsBySubject.get(session.subject) ?? 0) + 1)
    const leave = (outcome: Adoption): Adoption => {
      if (core.sessions.get(session.sid) === session) {
        core.sessions.delete(session.sid)
        const count = (core.sessionsBySubject.get(session.subject) ?? 1) - 1
        if (count <= 0) core.sessionsBySubject.delete(session.subject)
        else core.sessionsBySubject.set(session.subject, count)
      }
      return outcome
    }
    for (let claims = 0; ; claims++) {
      let result: ClaimResult
      try {
        result = await store.claim(session.sid, { node, term, purpose })
      } catch (error) {
        core.reportError(error, 'store: claim failed')
        return leave({ reason: 'unknown' })
      }
      if (result.won) {
        session.previousOwner = result.previous?.node ?? record.node
        break
      }
      if (isFinal(result.owner.purpose)) {
        // LL-NODE-4: it ended, or its end is being written: the tombstone tells how.
        const ended = (await store.getSession(session.sid))?.ended
        return leave({ reason: ended ?? (result.owner.purpose === 'expire' ? 'expired' : 'ended') })
      }
      if (claims + 1 >= MAX_CLAIMS) return leave({ closed: Codes.SUPERSEDED })
      term = result.owner.term + 1
      session.state = adoptingState(term, connection)
    }
    core.transition(session, { type: 'claim-won', term })
    await session.whenSettled()
    if (!owns(session.state)) {
      const sameClient = session.supersededBySameClient !== false
      return leave({ closed: sameClient ? Codes.SUPERSEDED : Codes.SESSION_REPLACED })
    }
    session.unsubscribeDirect = core.options.bus.subscribe(session.direct, (entry) =>
      session.deliver(session.direct, entry),
    )
    for (const topic of session.topics) core.registry.subscribe(topic, session)
    if (!connection) core.registry.disconnected(session)
    return { session }
  }

  /** What another node asks of this one. */
  private async answer(request: NodeRequest): Promise<NodeReply> {
    const core = this.core
    const session = core.sessions.get(request.sid)
    if (request.type === 'takeover') {
      if (session === undefined || session.state.term >= request.term) return { ok: true }
      const cid = session.connection?.cid ?? session.pendingCid
      const sameClient = cid !== undefined && cid === request.cid
      session.supersededBySameClient = sameClient
      const owned = owns(session.state)
      core.transition(session, { type: 'taken-over', term: request.term, sameClient })
      // Taken while this node was still taking it: the node it was taking it from may not know yet.
      const previous = session.previousOwner
      if (!owned && previous !== undefined && previous !== core.options.node) {
        await core.options.bus.request(previous, request).catch(() => undefined)
      }
      // Let go for good: the send being processed is processed (its id recorded), the last record written.
      await session.whenIdle()
      core.persistLast(session)
      await session.writes.idle()
      return { ok: true }
    }
    if (session === undefined || !owns(session.state)) return { ok: false, error: 'not here', missing: true }
    try {
      switch (request.type) {
        case 'send':
          return { ok: true, seq: await core.sendDirect(session, request.data, request.appMemento) }
        case 'kick':
          return (await core.kick(session, request.reason)) ? { ok: true } : { ok: false, error: 'ended' }
        case 'remove':
          return core.remove(session, request.topic, request.reason)
            ? { ok: true }
            : { ok: false, error: `not in ${request.topic}` }
      }
    } catch (error) {
      return { ok: false, error: error instanceof Error ? error.message : String(error) }
    }
  }

  /** LL-NODE-9: a send to a session another node holds goes through that node. */
  async send(sid: string, data: unknown, appMemento: unknown): Promise<number> {
    const request: NodeRequest =
      appMemento === undefined ? { type: 'send', sid, data } : { type: 'send', sid, data, appMemento }
    const reply = await this.forward(request)
    if (!reply.ok) throw new Error(reply.error)
    return reply.seq ?? 0
  }

  kick(sid: string, reason: string): Promise<boolean> {
    return this.forward({ type: 'kick', sid, reason }).then((reply) => reply.ok)
  }

  remove(sid: string, topic: string, reason: string): Promise<boolean> {
    return this.forward({ type: 'remove', sid, topic, reason }).then((reply) => reply.ok)
  }

  /**
   * Runs a request on the session's owner: here when this node holds it, else on the node its record
   * names; a gone node's session is adopted here first (LL-NODE-6).
   */
  private async forward(request: Exclude<NodeRequest, { type: 'takeover' }>): Promise<NodeReply> {
    const core = this.core
    const { store, bus, node } = core.options
    for (let attempt = 0; attempt < MAX_CLAIMS; attempt++) {
      const local = core.sessions.get(request.sid)
      if (local?.unsettled) {
        await local.whenSettled()
        continue
      }
      if (local !== undefined && owns(local.state)) return this.answer(request)
      const record = await store.getSession(request.sid)
      if (record === undefined || record.ended !== undefined)
        return { ok: false, error: `no session ${request.sid}` }
      if (core.sessions.has(request.sid)) continue
      const reply = record.node === node ? undefined : await bus.request(record.node, request)
      if (reply !== undefined && !(reply.ok === false && reply.missing === true)) return reply
      if (reply === undefined) {
        // Its node is gone: the session is adopted here, away until its client comes back.
        const adopted = await this.adopt(record, false, undefined)
        if ('reason' in adopted) return { ok: false, error: `no session ${request.sid}` }
      }
    }
    return { ok: false, error: `session ${request.sid} is moving between nodes` }
  }
}
