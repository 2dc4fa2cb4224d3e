/**
 * Korean and English labels. The language follows the buyer page's choice
 * (the same `tix-lang` key), else the browser's: Korean for a Korean browser.
 */
const LANG_KEY = 'tix-lang';

const en = {
  title: 'Tix operator', offline: 'Offline', online: 'Live', signOut: 'Sign out', signInTitle: 'Operator sign-in',
  token: 'Admin token', tokenHint: "Kept in this tab's memory only: a reload asks again.", signIn: 'Sign in',
  badToken: 'Wrong admin token.', adminOff: 'The admin API is off on this server (ADMIN_TOKEN unset).',
  concerts: 'Concerts', concert: 'Concert', state: 'State', waiting: 'Waiting', preQueued: 'Pre-queued', active: 'Active',
  admittedPerMinute: 'Admitted / min', holds: 'Held', held: 'Held', sold: 'Sold', free: 'Free', revenue: 'Revenue',
  live: 'Live', chartTitle: 'Waiting, active, admitted per minute and sold over time', controls: 'Controls',
  opensAt: 'Opens at', admitPerTick: 'Admitted per tick', maxActive: 'Most active at once', activeTtlSeconds: 'Active for (seconds)',
  challenge: 'Proof-of-work challenge', save: 'Save settings', dates: 'Dates', date: 'Date', startsAt: 'Starts at',
  seatCount: 'Seats', seatPrice: 'Price (won)', seatGrade: 'Grade', addDate: 'Add date', audit: 'Audit trail',
  cancel: 'Cancel', confirm: 'Confirm', pause: 'Pause the sale', resume: 'Resume the sale',
  statePaused: 'paused', stateOpen: 'open', statePre: 'pre-queue until', stateOff: 'not on sale',
  confirmPause: 'Pause "{title}"? No one is admitted until you resume.',
  confirmResume: 'Resume "{title}"? Admissions continue in ticket order.',
  confirmSale: 'Change the sale of "{title}": {changes}?', confirmDate: 'Add a date to "{title}": {date}, {count} seats at {price}?',
  nothingChanged: 'Nothing to change.', saved: 'Saved.', failed: 'Refused: {message}', created: 'Concert',
  noAudit: 'No changes recorded yet.',
};

const ko = {
  title: 'Tix 운영', offline: '연결 끊김', online: '실시간', signOut: '로그아웃', signInTitle: '운영자 로그인',
  token: '관리자 토큰', tokenHint: '이 탭의 메모리에만 보관됩니다. 새로고침하면 다시 묻습니다.', signIn: '로그인',
  badToken: '관리자 토큰이 틀립니다.', adminOff: '이 서버는 관리자 API가 꺼져 있습니다 (ADMIN_TOKEN 없음).',
  concerts: '공연', concert: '공연', state: '상태', waiting: '대기', preQueued: '사전 대기', active: '입장',
  admittedPerMinute: '분당 입장', holds: '선점', held: '선점', sold: '판매', free: '잔여', revenue: '매출',
  live: '실시간', chartTitle: '대기, 입장, 분당 입장, 판매 추이', controls: '제어',
  opensAt: '오픈 시각', admitPerTick: '틱당 입장 인원', maxActive: '최대 동시 입장', activeTtlSeconds: '입장 유지 시간(초)',
  challenge: '작업 증명 챌린지', save: '설정 저장', dates: '회차', date: '회차', startsAt: '공연 시각',
  seatCount: '좌석 수', seatPrice: '가격(원)', seatGrade: '등급', addDate: '회차 추가', audit: '변경 기록',
  cancel: '취소', confirm: '확인', pause: '판매 일시정지', resume: '판매 재개',
  statePaused: '일시정지', stateOpen: '판매 중', statePre: '사전 대기, 오픈', stateOff: '판매 없음',
  confirmPause: '"{title}" 판매를 일시정지할까요? 재개할 때까지 아무도 입장하지 않습니다.',
  confirmResume: '"{title}" 판매를 재개할까요? 대기 번호 순서대로 입장합니다.',
  confirmSale: '"{title}" 판매 설정을 바꿀까요: {changes}?', confirmDate: '"{title}"에 회차를 추가할까요: {date}, {count}석, {price}?',
  nothingChanged: '바뀐 설정이 없습니다.', saved: '저장했습니다.', failed: '거절됨: {message}', created: '공연',
  noAudit: '아직 기록된 변경이 없습니다.',
};

const dictionaries = { en, ko };

export function lang() {
  try {
    const saved = localStorage.getItem(LANG_KEY);
    if (saved === 'ko' || saved === 'en') return saved;
  } catch {
    // storage off: the browser's language decides
  }
  return (navigator.language || '').toLowerCase().startsWith('ko') ? 'ko' : 'en';
}

export function setLang(value) {
  try {
    localStorage.setItem(LANG_KEY, value);
  } catch {
    // not remembered, still switched for this page
  }
  apply();
}

/** The label `key` in the page's language, with `{name}` filled from `values`. */
export function t(key, values = {}) {
  const text = dictionaries[lang()][key] ?? en[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (_, name) => String(values[name] ?? ''));
}

/** Relabels every `data-i18n` element and the document's language. */
export function apply() {
  document.documentElement.lang = lang();
  for (const el of document.querySelectorAll('[data-i18n]')) el.textContent = t(el.dataset.i18n);
  const toggle = document.getElementById('lang');
  if (toggle) toggle.textContent = lang() === 'ko' ? 'English' : '한국어';
}

const won = new Intl.NumberFormat('ko-KR');
export const money = (amount) => (lang() === 'ko' ? `${won.format(amount)}원` : `₩${won.format(amount)}`);
export const count = (n) => won.format(n);
export const time = (iso) => new Date(iso).toLocaleString(lang() === 'ko' ? 'ko-KR' : 'en-GB', { dateStyle: 'medium', timeStyle: 'short' });
