/**
 * What the JetStream store keeps beside stream entries, each in a stream with one subject per key and
 * one message per subject (no compare-and-set anywhere, so correct on nats-server 2.9.x replicated):
 *
 * - session records under `root.s.<sid>.<term>`: a record is written under its owner's term, and a
 *   reader takes the highest term, so an older owner's late write never hides a newer one's (LL-NODE-2);
 *   an ended session's record is its tombstone;
 * - topic members under `root.m.<topic>.<sid>`, written before the presence entry (LL-NODE-7);
 * - client message ids processed, under `root.id.<hash>`, for the de-duplication window (LL-NODE-8).
 */
import type { SessionRecord, StoredMember } from '@lifeline/core/server'
import {
  DeliverPolicy,
  DiscardPolicy,
  type JetStreamClient,
  type JetStreamManager,
  type StorageType,
  type StreamConfig,
} from '@nats-io/jetstream'
import { Empty } from '@nats-io/nats-core'
import { digest, fetchAll, type Layout, nanos, token } from './layout.js'

export interface RecordsOptions {
  readonly storage: StorageType
  readonly replicas: number
  /** Records and members older than this go whatever happens (a leak bound). */
  readonly ttlMs: number
  /** How long a processed message id is remembered (LL-SEND-3). */
  readonly dedupWindowMs: number
}

export class Records {
  constructor(
    private readonly js: JetStreamClient,
    private readonly jsm: JetStreamManager,
    private readonly layout: Layout,
  ) {}

  /** The three streams, one message per subject, oldest first to go past their age. */
  configs(options: RecordsOptions): (Partial<StreamConfig> & { name: string })[] {
    const { root } = this.layout
    const common = {
      max_msgs_per_subject: 1,
      discard: DiscardPolicy.Old,
      storage: options.storage,
      num_replicas: options.replicas,
      allow_direct: true,
    }
    return [
      { name: this.layout.records, subjects: [`${root}.s.*.*`], max_age: nanos(options.ttlMs), ...common },
      { name: this.layout.members, subjects: [`${root}.m.*.*`], max_age: nanos(options.ttlMs), ...common },
      { name: this.layout.ids, subjects: [`${root}.id.*`], max_age: nanos(options.dedupWindowMs), ...common },
    ]
  }

  /** The record of the highest term written: the subjects name their terms, so one lookup finds it. */
  async getSession(sid: string): Promise<SessionRecord | undefined> {
    const prefix = `${this.layout.root}.s.${token(sid)}.`
    const subjects = await this.subjects(this.layout.records, `${prefix}*`)
    let term = 0
    for (const subject of subjects) term = Math.max(term, Number(subject.slice(prefix.length)) || 0)
    if (term === 0) return undefined
    const stored = await this.jsm.direct.getMessage(this.layout.records, { last_by_subj: `${prefix}${term}` })
    return stored === null ? undefined : stored.json<SessionRecord>()
  }

  /** Under the record's own term: one writer per term, which writes in order (the core's write queue). */
  async putSession(record: SessionRecord): Promise<void> {
    await this.js.publish(`${this.layout.root}.s.${token(record.sid)}.${record.term}`, JSON.stringify(record))
  }

  async setMember(topicId: string, sid: string, member: StoredMember | undefined): Promise<void> {
    const subject = `${this.layout.root}.m.${topicId}.${token(sid)}`
    if (member === undefined) await this.jsm.streams.purge(this.layout.members, { filter: subject })
    else await this.js.publish(subject, JSON.stringify(member))
  }

  async members(topicId: string): Promise<StoredMember[]> {
    const filter = `${this.layout.root}.m.${topicId}.*`
    const count = (await this.subjects(this.layout.members, filter)).length
    if (count === 0) return []
    const consumer = await this.js.consumers.get(this.layout.members, {
      filter_subjects: filter,
      deliver_policy: DeliverPolicy.LastPerSubject,
    })
    const members: StoredMember[] = []
    try {
      await fetchAll(consumer, count, (msg) => {
        members.push(msg.json<StoredMember>())
        return members.length >= count
      })
    } finally {
      await consumer.delete().catch(() => {})
    }
    return members
  }

  async seenMessageId(subject: string, id: string): Promise<boolean> {
    const stored = await this.jsm.direct.getMessage(this.layout.ids, {
      last_by_subj: this.idSubject(subject, id),
    })
    return stored !== null
  }

  async recordMessageId(subject: string, id: string): Promise<void> {
    await this.js.publish(this.idSubject(subject, id), Empty)
  }

  private idSubject(subject: string, id: string): string {
    return `${this.layout.root}.id.${digest(JSON.stringify([subject, id]))}`
  }

  /** The subjects of a stream matching a filter that hold a message. */
  private async subjects(stream: string, filter: string): Promise<string[]> {
    const info = await this.jsm.streams.info(stream, { subjects_filter: filter })
    return Object.keys(info.state.subjects ?? {})
  }
}
