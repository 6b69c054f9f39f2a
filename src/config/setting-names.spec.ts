import { misspelledSettings } from 'src/config/setting-names';

const SETTINGS = ['AUTH_REQUIRED', 'MAX_PAUSES', 'DATABASE_URL', 'HOST', 'PORT'];

describe('misspelledSettings', () => {
  it('names a misspelled setting and the one it was meant for', () => {
    expect(misspelledSettings(['AUTH_REQUIRD', 'MAX_PAUSE'], SETTINGS)).toEqual([
      '.env sets AUTH_REQUIRD, which is not a setting: did you mean AUTH_REQUIRED?',
      '.env sets MAX_PAUSE, which is not a setting: did you mean MAX_PAUSES?',
    ]);
  });

  it('names a setting written in lower case, and a misspelled _FILE variant', () => {
    expect(misspelledSettings(['max_pauses', 'DATABASE_URL_FIEL'], SETTINGS)).toEqual([
      '.env sets max_pauses, which is not a setting: did you mean MAX_PAUSES?',
      '.env sets DATABASE_URL_FIEL, which is not a setting: did you mean DATABASE_URL_FILE?',
    ]);
  });

  it('passes settings, their _FILE variants and names far from every setting', () => {
    expect(
      misspelledSettings(
        ['AUTH_REQUIRED', 'DATABASE_URL_FILE', 'ANTHROPIC_API_KEY', 'HOME', 'NODE_ENV'],
        SETTINGS,
      ),
    ).toEqual([]);
  });

  it('allows one edit in a short name, two in a long one', () => {
    expect(misspelledSettings(['PORTT', 'HOSTS', 'PRT'], SETTINGS)).toEqual([
      '.env sets PORTT, which is not a setting: did you mean PORT?',
      '.env sets HOSTS, which is not a setting: did you mean HOST?',
      '.env sets PRT, which is not a setting: did you mean PORT?',
    ]);
    expect(misspelledSettings(['MAX_PAUS', 'AUTH_REQIRD', 'AUTH_REQ'], SETTINGS)).toEqual([
      '.env sets AUTH_REQIRD, which is not a setting: did you mean AUTH_REQUIRED?',
    ]);
  });
});
