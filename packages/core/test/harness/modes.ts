/** The three ways to play a trace (spec/vectors/README.md, "Traces"), all on simulated time. */
import type { Trace, TraceStep } from '@lifeline/protocol/vectors'
import { settle, TraceHarness } from './base.js'

type ClientStep = Extract<TraceStep, { do: unknown; client: string }>

import { RealClients, RealServer, type SideContext } from './real-sides.js'
import { ScriptedClients, ScriptedServer } from './scripted-sides.js'

function context(
  harness: TraceHarness,
  trace: Trace,
  events: (key: string, value: Record<string, unknown>) => void,
) {
  const side: SideContext = {
    clock: harness.clock,
    network: harness.network,
    sidToActor: harness.sidToActor,
    settings: harness.settings,
    serverSettings: trace.server ?? {},
    event: events,
  }
  return side
}

/** The real client and the real server together: every frame both ways and every event is checked. */
export class BothSides extends TraceHarness {
  private readonly clients: RealClients
  private readonly server: RealServer

  constructor(trace: Trace) {
    super(trace, ['c2s', 's2c'])
    const side = context(this, trace, (key, value) => this.event(key, value))
    this.clients = new RealClients(side)
    this.server = new RealServer(side, (actor) => this.clients.sid(actor))
  }

  protected start(): Promise<void> {
    return this.server.start()
  }

  protected clientAct(step: ClientStep): void {
    this.clients.act(step.client, step.do)
  }

  protected async step(step: TraceStep): Promise<void> {
    if ('do' in step) {
      if ('client' in step) return
      if (step.do.action === 'restart') this.forgetStreams()
      return this.server.act(step.do, this.trace.clients)
    }
    if ('c2s' in step) return this.expectFrame(step.client, 'c2s', step.c2s)
    if ('s2c' in step) return this.expectFrame(step.client, 's2c', step.s2c)
    if ('sees' in step)
      return this.expectEvent(`${'client' in step ? step.client : 'server'}|${step.sees.event}`, step.sees)
    if ('fault' in step) return this.fault(step.client, step.fault)
    if ('quiet' in step) return this.expectQuiet(step.client, step.quiet)
  }

  protected async stop(): Promise<void> {
    this.clients.close()
    await settle()
    await this.server.stop()
  }
}

/** A scripted server plays the trace's s2c frames; the real client's frames and events are checked. */
export class ClientUnderTest extends TraceHarness {
  private readonly clients: RealClients
  private readonly server: ScriptedServer

  constructor(trace: Trace) {
    super(trace, ['c2s'])
    const side = context(this, trace, (key, value) => this.event(key, value))
    this.clients = new RealClients(side)
    this.server = new ScriptedServer(this.network)
  }

  protected start(): Promise<void> {
    return this.server.start()
  }

  protected clientAct(step: ClientStep): void {
    this.clients.act(step.client, step.do)
  }

  protected async step(step: TraceStep): Promise<void> {
    if ('do' in step) return
    if ('c2s' in step) return this.expectFrame(step.client, 'c2s', step.c2s)
    if ('s2c' in step) {
      const frame = this.outgoing(step.s2c)
      if (frame.type === 'welcome' && typeof frame.sid === 'string')
        this.sidToActor.set(frame.sid, step.client)
      return this.server.send(step.client, frame)
    }
    if ('sees' in step) {
      if ('client' in step) this.expectEvent(`${step.client}|${step.sees.event}`, step.sees)
      return
    }
    if ('fault' in step) return this.fault(step.client, step.fault)
    if ('quiet' in step) return this.expectQuiet(step.client, step.quiet)
  }

  protected async stop(): Promise<void> {
    this.clients.close()
    await settle()
  }
}

/** Scripted clients play the trace's c2s frames; the real server's frames and events are checked. */
export class ServerUnderTest extends TraceHarness {
  private readonly clients: ScriptedClients
  private readonly server: RealServer

  constructor(trace: Trace) {
    super(trace, ['s2c'])
    const side = context(this, trace, (key, value) => this.event(key, value))
    this.clients = new ScriptedClients(this.network)
    this.server = new RealServer(side, (actor) => {
      const sid = this.book.sidOf(actor)
      if (sid === undefined) throw new Error(`${actor} has no session`)
      return sid
    })
  }

  protected start(): Promise<void> {
    return this.server.start()
  }

  protected clientAct(step: ClientStep): void {
    if (step.do.action === 'connect') this.clients.open(step.client)
  }

  protected async step(step: TraceStep): Promise<void> {
    if ('do' in step) {
      if ('client' in step) return
      if (step.do.action === 'restart') this.forgetStreams()
      return this.server.act(step.do, this.trace.clients)
    }
    if ('c2s' in step) {
      const frame = this.outgoing(step.c2s)
      if (frame.type === 'hello' && !this.clients.isOpen(step.client)) {
        this.clients.open(step.client)
        await settle()
      }
      return this.clients.send(step.client, frame)
    }
    if ('c2sBatch' in step) {
      const frames = step.c2sBatch.map((pattern) => this.outgoing(pattern))
      if (frames[0]?.type === 'hello' && !this.clients.isOpen(step.client)) {
        this.clients.open(step.client)
        await settle()
      }
      return this.clients.sendBatch(step.client, frames)
    }
    if ('s2c' in step) return this.expectFrame(step.client, 's2c', step.s2c)
    if ('sees' in step) {
      if (!('client' in step)) this.expectEvent(`server|${step.sees.event}`, step.sees)
      return
    }
    if ('fault' in step) {
      this.fault(step.client, step.fault)
      if (step.fault !== 'reset') this.clients.abandon(step.client)
      return
    }
    if ('quiet' in step) return this.expectQuiet(step.client, step.quiet)
  }

  protected async stop(): Promise<void> {
    this.clients.close()
    await settle()
    await this.server.stop()
  }
}
