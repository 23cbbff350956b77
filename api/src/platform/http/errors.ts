import { Elysia } from 'elysia'
import { isDatabaseUnavailable } from '../db/client'
import type { Logger } from '../log'

/**
 * A failure with a place in the API's error shape `{error, message, details?}`. Services throw these;
 * the one `onError` below turns them into responses, so no route builds an error body by hand.
 */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
  ) {
    super(message)
  }
}

export class NotFound extends HttpError {
  constructor(message: string, code = 'not_found') {
    super(404, code, message)
  }
}
export class Invalid extends HttpError {
  constructor(message: string, details?: unknown, code = 'invalid') {
    super(422, code, message, details)
  }
}
export class Conflict extends HttpError {
  constructor(message: string, code = 'conflict', details?: unknown) {
    super(409, code, message, details)
  }
}
/** Telegram itself could not be reached; only ever for that upstream failure. */
export class UpstreamUnavailable extends HttpError {
  constructor(message: string, code = 'telegram_unavailable') {
    super(503, code, message)
  }
}

export type ErrorBody = { error: string; message: string; details?: unknown }

export const errorBody = (code: string, message: string, details?: unknown): ErrorBody =>
  details === undefined ? { error: code, message } : { error: code, message, details }

type Issue = { path: string; message: string }

function validationIssues(err: unknown): Issue[] {
  const all = (err as { all?: { path?: string; message?: string; summary?: string }[] }).all ?? []
  return all.slice(0, 20).map((i) => ({
    path:
      String(i.path ?? '')
        .replace(/^\//, '')
        .replace(/\//g, '.') || '(body)',
    message: String(i.message ?? i.summary ?? 'invalid'),
  }))
}

/** Maps every failure to the error shape. Nothing a client sends ends in a 5xx or a stack trace. */
export const errorHandler = (log: Logger) =>
  new Elysia({ name: 'error-handler' }).onError({ as: 'global' }, ({ code, error, set, request }) => {
    set.headers['content-type'] = 'application/json; charset=utf-8'
    if (error instanceof HttpError) {
      set.status = error.status
      return errorBody(error.code, error.message, error.details)
    }
    switch (code) {
      case 'VALIDATION': {
        const on = (error as { type?: string }).type
        const issues = validationIssues(error)
        if (on === 'params') {
          set.status = 400
          return errorBody('bad_request', `Malformed path parameter: ${issues.map((i) => i.path).join(', ')}`, issues)
        }
        if (on === 'query') {
          set.status = 400
          return errorBody('bad_request', `Malformed query parameter: ${issues.map((i) => i.path).join(', ')}`, issues)
        }
        set.status = 422
        const first = issues[0]
        return errorBody('validation_failed', first ? `${first.path}: ${first.message}` : 'The request body is not valid', issues)
      }
      case 'PARSE':
        set.status = 400
        return errorBody('malformed_body', 'The request body is not valid JSON')
      case 'NOT_FOUND':
        set.status = 404
        return errorBody('not_found', `No route ${request.method} ${new URL(request.url).pathname}`)
      case 'INVALID_COOKIE_SIGNATURE':
      case 'INVALID_FILE_TYPE':
        set.status = 400
        return errorBody('bad_request', 'The request is not valid')
    }
    if (isDatabaseUnavailable(error)) {
      set.status = 503
      set.headers['retry-after'] = '2'
      log.warn('database_unavailable', { path: new URL(request.url).pathname, error })
      return errorBody('database_unavailable', 'The database is not reachable right now; retry shortly')
    }
    // Elysia's own status errors (e.g. 413 from the body limit) carry a numeric status.
    const status = (error as { status?: unknown }).status
    if (typeof status === 'number' && status >= 400 && status < 500) {
      set.status = status
      return errorBody('bad_request', 'The request is not valid')
    }
    log.error('unhandled_error', { path: new URL(request.url).pathname, code: String(code), error })
    set.status = 500
    return errorBody('internal', 'Something went wrong on our side')
  })
