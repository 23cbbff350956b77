<?php
// A platform's webhook endpoint without a library: verify the Standard Webhooks signature, then handle the event.
// Run: WEBHOOK_SECRET=whsec_… php -S 127.0.0.1:8080 docs/examples/webhook-receiver.php

/** The event when one v1 signature matches and the timestamp is within 5 minutes, else null. */
function verify_webhook(string $secret, string $id, string $timestamp, string $signatures, string $body, int $tolerance = 300): ?array
{
    if (!ctype_digit($timestamp) || abs(time() - (int) $timestamp) > $tolerance) {
        return null;
    }
    $key = base64_decode(preg_replace('/^whsec_/', '', $secret), true);
    $expected = base64_encode(hash_hmac('sha256', "$id.$timestamp.$body", (string) $key, true));
    // several signatures, space-separated, while a rotated secret overlaps the old one
    foreach (explode(' ', $signatures) as $versioned) {
        [$version, $signature] = array_pad(explode(',', $versioned, 2), 2, '');
        if ($version === 'v1' && hash_equals($expected, $signature)) {
            return json_decode($body, true);
        }
    }
    return null;
}

$body = file_get_contents('php://input'); // the raw body, exactly as signed
$event = verify_webhook(
    (string) getenv('WEBHOOK_SECRET'),
    $_SERVER['HTTP_WEBHOOK_ID'] ?? '',
    $_SERVER['HTTP_WEBHOOK_TIMESTAMP'] ?? '',
    $_SERVER['HTTP_WEBHOOK_SIGNATURE'] ?? '',
    $body,
);
if ($event === null) {
    http_response_code(401);
    exit;
}
// Retries carry the same webhook-id: skip one already handled (keep it next to the change it made).
error_log($event['type'] . ' ' . json_encode($event['data'], JSON_UNESCAPED_UNICODE));
http_response_code(204);
