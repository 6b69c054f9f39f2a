/**
 * THE API KEY FORMAT: `cta_<12 hex digits>_<43 base64url characters>`. The first part is the
 * public prefix (shown in lists and logs); the rest is 256 random bits. Known here so that both
 * the auth module (which issues and checks keys) and the log scrubber recognise key material.
 */
export const KEY_PATTERN = /^(cta_[0-9a-f]{12})_[A-Za-z0-9_-]{43}$/;

/** Key material anywhere in a text; group 1 is the public prefix. */
export const KEY_MATERIAL = /(cta_[0-9a-f]{12})_[A-Za-z0-9_-]{43}/g;
