/**
 * The Lifeline demo: a chat room where dropping the connection loses nothing. Pull the connection
 * ("Drop connection") or the network ("Go offline"), keep typing, and watch every message arrive
 * exactly once when the link comes back, while the others see you `away` rather than gone.
 */
import {
  browserEnvironment,
  type ClientStatus,
  type ClientTransport,
  createClient,
  type LifelineClient,
  ServerClosedError,
  type SessionEvent,
  webStorage,
} from '@lifeline/core'
import { socketIoTransport } from '@lifeline/socket.io'
import { wsTransport } from '@lifeline/ws'
import { isChatMessage, isRoomMemento, MessageList } from './messages'
import { offlineSwitch } from './offline'
import { OutboxList } from './outbox'
import { PresenceList } from './presence'
import { RecoveryToast } from './recovery'
import './style.css'

/** `?room=name` picks another room than the lobby (letters, digits, `-` and `_`). */
const ROOM_NAME = /^[\w-]{1,40}$/.exec(new URLSearchParams(location.search).get('room') ?? '')?.[0] ?? 'lobby'
const ROOM = `room:${ROOM_NAME}`
const NAME_KEY = 'lifeline-demo.name'
const MAX_LOG = 60

function element<T extends HTMLElement>(testId: string): T {
  const found = document.querySelector<T>(`[data-testid="${testId}"]`)
  if (found === null) throw new Error(`missing [data-testid="${testId}"]`)
  return found
}

const ui = {
  me: element('me'),
  status: element('status'),
  transport: element('transport'),
  session: element('session'),
  pending: element('pending'),
  drop: element<HTMLButtonElement>('drop'),
  offline: element<HTMLInputElement>('offline'),
  nameForm: element<HTMLFormElement>('name-form'),
  name: element<HTMLInputElement>('name'),
  nameError: element('name-error'),
  messages: element<HTMLUListElement>('messages'),
  outbox: element<HTMLUListElement>('outbox'),
  composer: element<HTMLFormElement>('composer'),
  input: element<HTMLInputElement>('input'),
  presence: element<HTMLUListElement>('presence'),
  log: element<HTMLOListElement>('log'),
  toast: element('toast'),
  room: element('room'),
  login: document.getElementById('login') as HTMLElement,
  chat: document.getElementById('chat') as HTMLElement,
}

/** The Lifeline endpoint on this page's own server. */
function endpoint(): string {
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:'
  return `${scheme}//${location.host}/lifeline`
}

/**
 * `?transport=` picks how to reach the server: `ws` (default), `socket.io`, `polling` (Socket.IO
 * long-polling only), or `auto` (ws, falling back to long-polling: one session across both).
 */
function transports(): ClientTransport[] {
  const ws = () => wsTransport(endpoint(), { probe: true })
  const sio = (polling: boolean) =>
    socketIoTransport(
      location.origin,
      polling ? { transports: ['polling'], name: 'socket.io (polling)' } : {},
    )
  switch (new URLSearchParams(location.search).get('transport')) {
    case 'socket.io':
      return [sio(false)]
    case 'polling':
      return [sio(true)]
    case 'auto':
      return [ws(), sio(true)]
    default:
      return [ws()]
  }
}

function nameOf(meta: unknown, fallback: string): string {
  const name = (meta as { name?: unknown } | null | undefined)?.name
  return typeof name === 'string' ? name : fallback
}

function validName(raw: string): string | undefined {
  const name = raw.trim()
  const length = [...name].length
  return length >= 1 && length <= 32 ? name : undefined
}

/**
 * A message id of our own, so the page can follow a send across a reload (printable ASCII, LL-SEND-1).
 * `crypto.randomUUID` exists only in secure contexts: a demo opened over http on a LAN address has none.
 */
function messageId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(12))
  return `demo.${Array.from(bytes, (byte) => byte.toString(16).padStart(2, '0')).join('')}`
}

function log(text: string, kind = 'info'): void {
  const item = document.createElement('li')
  item.className = kind
  const time = document.createElement('time')
  time.textContent = new Date().toLocaleTimeString()
  item.append(time, ` ${text}`)
  ui.log.prepend(item)
  while (ui.log.children.length > MAX_LOG) ui.log.lastElementChild?.remove()
}

function statusText(status: ClientStatus, waitingUntil: number): string {
  switch (status.type) {
    case 'idle':
      return 'idle'
    case 'connecting':
      return status.attempt === 0 ? 'connecting' : `connecting (attempt ${status.attempt + 1})`
    case 'open':
      return 'open'
    case 'waiting': {
      if (status.reason === 'offline') return 'offline'
      const seconds = Math.max(0, waitingUntil - Date.now()) / 1000
      return `waiting ${seconds.toFixed(1)}s${status.reason === 'server' ? ' (server asked)' : ''}`
    }
    case 'closed':
      return status.error === undefined ? 'closed' : `closed: ${status.error.message}`
  }
}

function sessionText(event: SessionEvent): string {
  if (event.resumed) return event.recovered ? 'resumed, recovered' : 'resumed, NOT recovered'
  return event.resumeAsked ? `new session (resume failed: ${event.reason ?? 'unknown'})` : 'new session'
}

function start(name: string): void {
  ui.login.hidden = true
  ui.chat.hidden = false
  document.title = `${name} · Lifeline demo chat`
  ui.me.textContent = name
  ui.me.hidden = false
  ui.room.textContent = `#${ROOM_NAME}`

  const offline = offlineSwitch(browserEnvironment())
  const client: LifelineClient = createClient({
    transport: transports().map((transport) => offline.wrap(transport)),
    auth: { name },
    storage: webStorage(sessionStorage), // a reload resumes the same session
    environment: offline.environment,
  })

  const messages = new MessageList(ui.messages, name)
  const presence = new PresenceList(ui.presence, client, ROOM)
  const recovery = new RecoveryToast(ui.toast, log, () => client.pending)
  const outbox = new OutboxList(ui.outbox)

  // Connection state, with a countdown while waiting.
  let waitingUntil = 0
  let countdown: ReturnType<typeof setInterval> | undefined
  let session: SessionEvent | undefined
  let wasOpen = false
  const renderStatus = (): void => {
    const status = client.status
    ui.status.textContent = statusText(status, waitingUntil)
    ui.status.dataset.state = status.type
    // Which transport carries the session now (it may change between attempts with ?transport=auto).
    ui.transport.textContent =
      status.type === 'open' || status.type === 'connecting' ? `via ${status.transport}` : ''
    ui.transport.dataset.transport = status.type === 'open' ? status.transport : ''
    ui.drop.disabled = status.type !== 'open'
    const attempts = `reconnect attempts: ${client.reconnectAttempts}`
    ui.session.textContent = session === undefined ? attempts : `${sessionText(session)} · ${attempts}`
  }
  client.on('status', (status) => {
    clearInterval(countdown)
    countdown = undefined
    if (status.type === 'waiting' && status.reason !== 'offline') {
      waitingUntil = Date.now() + status.delayMs
      if (status.delayMs > 0) countdown = setInterval(renderStatus, 100)
    }
    if (status.type === 'closed') {
      log(`connection closed${status.error === undefined ? '' : `: ${status.error.message}`}`, 'bad')
      // LL-RESUME-8: a duplicated tab (the browser copies this tab's sessionStorage) took the session.
      if (status.error instanceof ServerClosedError && status.error.codeName === 'SESSION_REPLACED')
        log(
          'this session continues in another tab, a duplicate of this one: reload for a new one here',
          'warn',
        )
    }
    if (wasOpen && status.type !== 'open') recovery.lost()
    wasOpen = status.type === 'open'
    renderStatus()
    presence.render() // your own entry follows your connection
  })

  client.on('session', (event) => {
    session = event
    presence.setGrace(event.graceMs)
    renderStatus()
    ui.session.dataset.resumed = String(event.resumed)
    ui.session.dataset.recovered = String(event.recovered)
    recovery.back(event)
    if (!event.resumeAsked) log('connected: new session')
  })
  client.on('unrecovered', (event) =>
    log(`session not recovered (${event.reason}): reloading what was missed from the chat history`, 'bad'),
  )

  // Pending sends: the badge, and the messages themselves, greyed, until the server has them.
  client.on('pending', (count) => {
    ui.pending.textContent = `${count} pending`
    ui.pending.dataset.count = String(count)
    ui.pending.hidden = count === 0
  })

  // Messages: each exactly once, in the room's order, live or from the history.
  let resyncAtNext = false
  client.on('message', (message) => {
    if (message.topic !== ROOM || !isChatMessage(message.data)) return
    if (messages.duplicate(message.data)) return log(`message #${message.data.n} delivered twice`, 'bad')
    messages.show(message.data, 'live')
    recovery.arrived(message.data.at)
    if (resyncAtNext) {
      resyncAtNext = false
      loadHistory(message.data.n - 1, false)
    }
  })
  // The room's log was lost (a server restart, a log that moved on): the page shows the chat again from
  // the history, up to the room's app memento now and, at the next message, up to it.
  client.on('gap', ({ topic }) => {
    if (topic !== ROOM) return
    resyncAtNext = true
    messages.clear()
    const memento = client.appMemento(ROOM)
    if (isRoomMemento(memento)) loadHistory(memento.upTo, false)
    log(`the room's log was lost: the chat is reloaded from the history`, 'warn')
  })
  // The room's app memento says up to where the page must hold the history: at a first join (a late
  // joiner), after a reload (the client kept it with its cursor), and after a rejoin that could not
  // recover. Loading is idempotent: what the page shows already is skipped.
  const loadHistory = (upTo: number, recovered: boolean | undefined): void => {
    if (upTo <= 0) return
    messages.load(ROOM, upTo).then(
      ({ added, truncated }) => {
        if (added > 0 && recovered === false) recovery.resynced(added)
        if (added > 0) log(`${added} message${added === 1 ? '' : 's'} loaded from the chat history`)
        if (truncated) log('older messages are no longer kept', 'warn')
      },
      (error: unknown) => log(`could not load the history: ${String(error)}`, 'bad'),
    )
  }

  client.on('joined', (event) => {
    if (event.topic !== ROOM) return
    presence.render()
    const memento = client.appMemento(ROOM)
    if (isRoomMemento(memento)) loadHistory(memento.upTo, event.recovered)
    const where = `#${ROOM_NAME}`
    log(
      event.recovered === false ? `rejoined ${where} (missed messages come from the history)` : `in ${where}`,
    )
  })
  client.on('presence', (change) => {
    if (change.topic !== ROOM) return
    presence.changed(change.sid, change.event)
    if (change.sid === client.sid) return
    const who = nameOf(change.meta, change.sid)
    const what = { joined: 'joined', away: 'is away', reconnected: 'is back', left: 'left' }[change.event]
    log(`${who} ${what}`, change.event === 'away' ? 'warn' : 'info')
  })
  client.on('joinError', (event) => log(`could not join ${event.topic}: ${event.reason}`, 'bad'))
  client.on('error', (error) => log(`error: ${error.message}`, 'bad'))

  // Sending: stays pending while offline, delivered exactly once when back.
  ui.composer.addEventListener('submit', (event) => {
    event.preventDefault()
    const text = ui.input.value.trim()
    if (text === '') return
    ui.input.value = ''
    // Our own id, so the list follows the message across a reload (the `settled` event says when).
    const id = messageId()
    outbox.add(id, text)
    client.send({ text }, { topic: ROOM, id }).catch(() => {}) // the settled event reports it
  })
  client.on('settled', ({ id, error }) => outbox.settled(id, error))
  client.on('sendsLost', ({ ids }) => {
    outbox.lost(ids)
    log(`${ids.length} message(s) typed before the reload could not be kept`, 'bad')
  })
  client.on('unsaved', ({ ids }) => {
    if (ids.length > 0)
      log(`${ids.length} pending message(s) would not survive a reload (storage full)`, 'warn')
  })
  // A page unload keeps the session and what is pending for the next page (LL-SEND-9): no goodbye.
  addEventListener('pagehide', () => client.detach())

  // Drop connection: the server kills our socket without a close frame; the client resumes by itself.
  const drop = async (): Promise<boolean> => {
    const sid = client.sid
    if (client.status.type !== 'open' || sid === undefined) return false
    try {
      const response = await fetch(`/demo/drop?sid=${encodeURIComponent(sid)}`, { method: 'POST' })
      return response.status === 204
    } catch {
      return false
    }
  }
  ui.drop.addEventListener('click', () => {
    log('dropping the connection (server side, no close frame)', 'warn')
    recovery.lost()
    void drop()
  })

  // Go offline: the environment says offline, no dial succeeds, and the live connection is dropped.
  ui.offline.disabled = false
  ui.offline.addEventListener('change', () => {
    const on = ui.offline.checked
    document.body.classList.toggle('is-offline', on)
    offline.set(on)
    if (!on) {
      log('back online', 'good')
      return
    }
    log('offline: messages will wait', 'warn')
    void drop().then((dropped) => {
      if (!dropped) offline.cutTainted() // no server drop possible: cut our side of the link instead
    })
  })

  client.connect()
  // What the page before this one had of the room (kept with the session): live delivery follows it.
  const kept = client.appMemento(ROOM)
  messages.liveFrom(isRoomMemento(kept) ? kept.upTo : 0)
  const restored = outbox.restore(client.pendingSends)
  if (restored > 0) log(`${restored} message(s) typed before the reload wait to go out`, 'warn')
  client.join(ROOM).catch((error: unknown) => log(`could not join: ${String(error)}`, 'bad'))
  renderStatus()
}

// The name: asked once per tab, remembered in sessionStorage like the session itself.
const remembered = validName(sessionStorage.getItem(NAME_KEY) ?? '')
if (remembered !== undefined) start(remembered)
else {
  ui.login.hidden = false
  ui.name.focus()
  ui.nameForm.addEventListener('submit', (event) => {
    event.preventDefault()
    const name = validName(ui.name.value)
    if (name === undefined) {
      ui.nameError.textContent = 'A name is 1 to 32 characters.'
      ui.nameError.hidden = false
      return
    }
    sessionStorage.setItem(NAME_KEY, name)
    start(name)
  })
}
