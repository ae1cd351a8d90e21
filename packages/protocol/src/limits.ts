/** Default largest frame in UTF-8 bytes (LL-LIMIT-1); a server may lower it, and says so in welcome. */
export const DEFAULT_MAX_FRAME_BYTES = 1024 * 1024

/**
 * Deepest nesting of arrays and objects in a transport message, counted from its outermost value (a
 * batch's array is level 1, a frame in it level 2): deeper is refused with 4000 (LL-LIMIT-8).
 */
export const MAX_NESTING_DEPTH = 64

/** Most frames a batch may hold (LL-WS-2). */
export const MAX_BATCH_FRAMES = 1024

/** Limits on client-supplied tokens, so a hostile hello cannot make the server hash megabytes. */
export const MAX_MEMENTO_LENGTH = 1024
export const MAX_APP_MEMENTO_LENGTH = 4096
export const MAX_MESSAGE_ID_LENGTH = 128
export const MAX_RESUME_TOPICS = 1000
/** Longest subject in UTF-8 bytes, so every memento can carry it (LL-AUTH-6). */
export const MAX_SUBJECT_BYTES = 256
