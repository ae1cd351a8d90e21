/** The protocol version this package implements. */
export const PROTOCOL_VERSION = 1

/** Versions this package can speak, preferred first (LL-VERSION-1). */
export const SUPPORTED_VERSIONS: readonly number[] = [PROTOCOL_VERSION]
