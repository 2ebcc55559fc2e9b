/** Debian's Chromium, headless, as the e2e tests of the web view start it. */
export const chromiumPath = '/usr/bin/chromium';

/**
 * Flags for a machine with no way out: without the background-networking ones Chromium keeps
 * trying to reach its own services, refused many at a time.
 */
export const chromiumFlags = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
