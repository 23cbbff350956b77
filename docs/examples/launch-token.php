<?php
// The platform's side of an owner launch, without a JWT library: an HS256 JWT signed with PLATFORM_SECRET.
// Run: PLATFORM_SECRET=… SHOP_ID=1 php docs/examples/launch-token.php

function base64url(string $bytes): string
{
    return rtrim(strtr(base64_encode($bytes), '+/', '-_'), '=');
}

/** A launch token for one shop's page: 5 minutes, single use (jti); sub and name for the audit trail. */
function launch_token(string $secret, int $shopId, ?string $userId = null, ?string $userName = null): string
{
    $now = time();
    $claims = ['shop' => (string) $shopId, 'iat' => $now, 'exp' => $now + 300, 'jti' => bin2hex(random_bytes(16))];
    if ($userId !== null) {
        $claims['sub'] = $userId;
    }
    if ($userName !== null) {
        $claims['name'] = $userName;
    }
    $header = base64url(json_encode(['alg' => 'HS256', 'typ' => 'JWT']));
    $payload = base64url(json_encode($claims, JSON_UNESCAPED_UNICODE | JSON_UNESCAPED_SLASHES));
    $signature = base64url(hash_hmac('sha256', "$header.$payload", $secret, true));
    return "$header.$payload.$signature";
}

if (PHP_SAPI === 'cli' && realpath($argv[0]) === __FILE__) {
    $base = getenv('NOTIFY_URL') ?: 'http://127.0.0.1:3000';
    $shopId = (int) (getenv('SHOP_ID') ?: 1);
    $token = launch_token((string) getenv('PLATFORM_SECRET'), $shopId, '17', 'Ольга');
    // the token travels in the fragment: it never reaches a server log
    echo "$base/shops/$shopId/growth/telegram#launch=$token\n";
}
