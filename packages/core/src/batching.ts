/**
 * Packs encoded frames into transport messages (LL-WS-2): a frame alone, or JSON-array batches that
 * stay within maxFrameBytes. Sizes are counted in UTF-16 units against a third of the limit, since
 * one unit is at most three UTF-8 bytes: no batch can exceed the limit, whatever the text.
 */
export function packFrames(texts: readonly string[], maxFrameBytes: number): string[] {
  if (texts.length === 1) return [texts[0] as string]
  const budget = Math.floor(maxFrameBytes / 3)
  const messages: string[] = []
  let batch: string[] = []
  let size = 2
  const close = () => {
    if (batch.length === 1) messages.push(batch[0] as string)
    else if (batch.length > 1) messages.push(`[${batch.join(',')}]`)
  }
  for (const text of texts) {
    if (batch.length > 0 && size + text.length + 1 > budget) {
      close()
      batch = []
      size = 2
    }
    batch.push(text)
    size += text.length + 1
  }
  close()
  return messages
}
