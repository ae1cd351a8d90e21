/** The demo chat's own storage, and the app memento every message carries (LL-APPM-6..8). */
import { describe, expect, it } from 'vitest'
import { ChatHistory } from '../src/history.js'
import { chatClient, raw, testServer } from './helpers.js'

const message = (id: string) => ({ id, from: 'alice', text: id, at: 0 })

describe('ChatHistory', () => {
  it('numbers each room from 1 and reads a range, oldest first', () => {
    const history = new ChatHistory()
    for (const id of ['a', 'b', 'c']) history.append('room:1', message(id))
    expect(history.append('room:2', message('x')).n).toBe(1)
    expect(history.read('room:1', 1, 3, 10)).toEqual({
      messages: [
        { ...message('b'), n: 2 },
        { ...message('c'), n: 3 },
      ],
      truncated: false,
    })
    expect(history.read('room:1', 0, 2, 10).messages.map((m) => m.n)).toEqual([1, 2])
    expect(history.read('room:nope', 0, 9, 10)).toEqual({ messages: [], truncated: false })
  })

  it('is bounded per room and in rooms, and says when older history is gone', () => {
    const history = new ChatHistory({ perRoom: 2, rooms: 2 })
    for (const id of ['a', 'b', 'c']) history.append('room:1', message(id))
    expect(history.read('room:1', 0, 3, 10)).toMatchObject({ truncated: true })
    expect(history.read('room:1', 0, 3, 10).messages.map((m) => m.n)).toEqual([2, 3])
    expect(history.read('room:1', 1, 3, 10)).toMatchObject({ truncated: false })
    expect(history.read('room:1', 0, 3, 1)).toMatchObject({ truncated: true, messages: [{ n: 3 }] })
    history.append('room:2', message('x'))
    history.append('room:3', message('y')) // room:1 was written least recently: it goes
    expect(history.read('room:1', 0, 3, 10).messages).toEqual([])
    expect(history.read('room:2', 0, 1, 10).messages).toHaveLength(1)
  })
})

describe('GET /demo/history', () => {
  it('serves what the room published, each with the number its app memento names', async () => {
    const server = await testServer()
    const alice = chatClient(server, 'alice')
    const joined = new Promise((resolve) => alice.on('joined', resolve))
    await joined
    const amvs: unknown[] = []
    alice.on('message', () => amvs.push(alice.appMemento('room:lobby')))
    await alice.send({ text: 'one' }, { topic: 'room:lobby' })
    await alice.send({ text: 'two' }, { topic: 'room:lobby' })
    await expect.poll(() => amvs.length).toBe(2)
    // Each message carried { upTo: n }; the client stored it once the message was delivered.
    expect(alice.appMemento('room:lobby')).toEqual({ upTo: 2 })
    const all = JSON.parse((await raw(server.port, '/demo/history?room=room:lobby&upTo=2')).body)
    expect(all.messages.map((m: { n: number; text: string }) => `${m.n}:${m.text}`)).toEqual([
      '1:one',
      '2:two',
    ])
    expect(all.truncated).toBe(false)
    const tail = JSON.parse((await raw(server.port, '/demo/history?room=room:lobby&after=1&upTo=2')).body)
    expect(tail.messages).toHaveLength(1)
    for (const bad of ['?room=lobby', '?room=room:lobby&after=-1', '?room=room:lobby&upTo=x'])
      expect((await raw(server.port, `/demo/history${bad}`)).status).toBe(400)
    expect((await raw(server.port, '/demo/history?room=room:lobby', 'POST')).status).toBe(405)
    alice.close()
    await server.close()
  })
})
