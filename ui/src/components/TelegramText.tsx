import { createMemo, For, type JSX } from 'solid-js'

/**
 * A bot message's text (Telegram HTML: b, i, u, s, code, pre, a) drawn the way Telegram draws it.
 * The text is parsed, never assigned as HTML: only these tags survive, everything else becomes text,
 * so a customer's `<script>` in a preview stays harmless whatever the server sent.
 */
const TAGS: Record<string, keyof JSX.IntrinsicElements> = { b: 'b', strong: 'b', i: 'i', em: 'i', u: 'u', ins: 'u', s: 's', del: 's', code: 'code', pre: 'pre' }

type Piece = { tag: string | null; href?: string; children: Piece[]; text?: string }

function toPieces(node: Node): Piece[] {
  const out: Piece[] = []
  node.childNodes.forEach((n) => {
    if (n.nodeType === Node.TEXT_NODE) out.push({ tag: null, text: n.textContent ?? '', children: [] })
    else if (n.nodeType === Node.ELEMENT_NODE) {
      const el = n as Element
      const name = el.tagName.toLowerCase()
      const href = name === 'a' ? el.getAttribute('href') : null
      if (name === 'a' && href && /^(https?:|tg:)/i.test(href)) out.push({ tag: 'a', href, children: toPieces(el) })
      else if (TAGS[name]) out.push({ tag: TAGS[name]!, children: toPieces(el) })
      else out.push(...toPieces(el))
    }
  })
  return out
}

function Render(props: { pieces: Piece[] }): JSX.Element {
  return (
    <For each={props.pieces}>
      {(p) => {
        if (p.tag === null) return p.text
        const kids = <Render pieces={p.children} />
        switch (p.tag) {
          case 'a':
            return (
              <a href={p.href} target="_blank" rel="noopener noreferrer">
                {kids}
              </a>
            )
          case 'b':
            return <b>{kids}</b>
          case 'i':
            return <i>{kids}</i>
          case 'u':
            return <u>{kids}</u>
          case 's':
            return <s>{kids}</s>
          case 'code':
            return <code>{kids}</code>
          default:
            return <pre>{kids}</pre>
        }
      }}
    </For>
  )
}

export function TelegramText(props: { html: string }) {
  const pieces = createMemo(() => toPieces(new DOMParser().parseFromString(`<body>${props.html}</body>`, 'text/html').body))
  return (
    <div class="tg-text">
      <Render pieces={pieces()} />
    </div>
  )
}
