import { createMemo } from 'solid-js'
import { encode } from 'uqr'

/**
 * A QR code of `value` as one SVG path (crisp at any size, no canvas). Drawn from uqr's matrix
 * rather than its SVG string so nothing is injected as HTML.
 */
export function Qr(props: { value: string; label: string; size?: number }) {
  const qr = createMemo(() => {
    const { data, size } = encode(props.value, { ecc: 'M', border: 2 })
    let d = ''
    data.forEach((row, y) =>
      row.forEach((dark, x) => {
        if (dark) d += `M${x} ${y}h1v1h-1z`
      }),
    )
    return { d, size }
  })
  return (
    <svg
      class="qr"
      data-testid="qr"
      role="img"
      aria-label={props.label}
      viewBox={`0 0 ${qr().size} ${qr().size}`}
      width={props.size ?? 176}
      height={props.size ?? 176}
      shape-rendering="crispEdges"
    >
      <rect width="100%" height="100%" fill="#fff" />
      <path d={qr().d} fill="#111" />
    </svg>
  )
}
