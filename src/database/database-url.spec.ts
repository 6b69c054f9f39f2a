import { DatabaseUrlError, parseDatabaseUrl, redactDatabaseUrl } from 'src/database/database-url';

describe('parseDatabaseUrl', () => {
  it.each([
    ['sqlite:///./data/tasks.db', '/srv/app/data/tasks.db'],
    ['sqlite:///tasks.db', '/srv/app/tasks.db'],
    ['sqlite:///../other/x.db', '/srv/other/x.db'],
    ['sqlite:////var/lib/cta/tasks.db', '/var/lib/cta/tasks.db'],
    ['sqlite:////var/lib/cta/../cta2/t.db', '/var/lib/cta2/t.db'],
  ])('reads %s as the file %s', (url, file) => {
    expect(parseDatabaseUrl(url, '/srv/app')).toEqual({ type: 'sqlite', file });
  });

  it.each([
    [
      'mysql://u:p@db.example:3307/claudesys',
      { host: 'db.example', port: 3307, username: 'u', password: 'p', database: 'claudesys' },
    ],
    [
      'mysql+pymysql://root:sitebuilder@localhost/claudesys',
      {
        host: 'localhost',
        port: 3306,
        username: 'root',
        password: 'sitebuilder',
        database: 'claudesys',
      },
    ],
    [
      'mysql://app%40x:p%3Ass%2Fw@127.0.0.1:3306/my_db',
      { host: '127.0.0.1', port: 3306, username: 'app@x', password: 'p:ss/w', database: 'my_db' },
    ],
    [
      'mysql://root@127.0.0.1/t',
      { host: '127.0.0.1', port: 3306, username: 'root', password: '', database: 't' },
    ],
    [
      'mysql://[::1]:3306/t',
      { host: '::1', port: 3306, username: 'root', password: '', database: 't' },
    ],
  ])('reads %s', (url, expected) => {
    expect(parseDatabaseUrl(url)).toEqual({ type: 'mysql', ...expected });
  });

  it.each([
    'postgres://u@h/db',
    'sqlite://relative.db',
    'sqlite:///',
    'sqlite:///./data/',
    'mysql://u:p@host:3306',
    'mysql://u:p@host:3306/',
    'mysql://u:p@host:3306/a/b',
    'mysql://u:p@host:notaport/db',
    '',
  ])('rejects %j with a message naming the accepted forms', (url) => {
    expect(() => parseDatabaseUrl(url, '/srv/app')).toThrow(DatabaseUrlError);
  });
});

describe('redactDatabaseUrl', () => {
  it('hides the password but keeps the rest', () => {
    expect(redactDatabaseUrl('mysql+pymysql://root:s3cret@localhost:3306/db')).toBe(
      'mysql+pymysql://root:***@localhost:3306/db',
    );
    expect(redactDatabaseUrl('mysql://root@localhost/db')).toBe('mysql://root@localhost/db');
    // An unencoded `@` in the password: the parser ends it at the last one, and so does this.
    const url = 'mysql://cta:Pw0rd@SECRETPART@127.0.0.1:3306/db';
    expect(parseDatabaseUrl(url, '/srv/app')).toMatchObject({ password: 'Pw0rd@SECRETPART' });
    expect(redactDatabaseUrl(url)).toBe('mysql://cta:***@127.0.0.1:3306/db');
    expect(redactDatabaseUrl('sqlite:///./data/tasks.db')).toBe('sqlite:///./data/tasks.db');
  });
});
