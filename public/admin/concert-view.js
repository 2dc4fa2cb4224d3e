/**
 * One concert's panel: its live chart and seat counts (fed by `admin:stats`),
 * the sale controls and the audit trail. Every change asks for confirmation,
 * goes through the HTTP API and is then read back from the audit.
 */
import { LiveChart, SERIES } from './chart.js';
import { confirmAction } from './confirm.js';
import { count, money, t, time } from './i18n.js';

const $ = (id) => document.getElementById(id);
const FIELDS = ['opensAt', 'admitPerTick', 'maxActive', 'activeTtlSeconds', 'challenge'];

/** An ISO time as a datetime-local value (the browser's zone), and back. */
const toLocalInput = (iso) => {
  const d = new Date(iso);
  const pad = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
};
const fromLocalInput = (value) => new Date(value).toISOString();

export class ConcertView {
  constructor(api, concertId, { onSale, message }) {
    this.api = api;
    this.concertId = concertId;
    this.onSale = onSale;
    this.message = message;
    this.concert = undefined;
    this.latest = undefined;
    this.entries = [];
    this.listening = new AbortController();
    this.chart = new LiveChart($('chart'));
    this.chart.clear();
    const signal = this.listening.signal;
    $('pause').addEventListener('click', () => void this.togglePause(), { signal });
    $('sale-form').addEventListener('submit', (e) => {
      e.preventDefault();
      void this.saveSale();
    }, { signal });
    $('date-form').addEventListener('submit', (e) => {
      e.preventDefault();
      void this.addDate();
    }, { signal });
  }

  close() {
    this.listening.abort();
  }

  async load() {
    const [concert, entries] = await Promise.all([this.api.concert(this.concertId), this.api.audit(this.concertId)]);
    this.concert = concert;
    this.entries = entries;
    this.latest ??= concert.stats;
    document.querySelector('[data-testid="detail"]').hidden = false;
    this.fillForm();
    this.render();
  }

  /** Live figures from the namespace. */
  stats(stats) {
    this.latest = stats;
    this.chart.add(stats);
    this.renderLegend();
    this.renderDates();
  }

  render() {
    if (!this.concert) return;
    const { sale } = this.concert;
    $('detail-title').textContent = `${this.concert.title} · ${this.concert.venue}`;
    const state = document.querySelector('[data-testid="sale-state"]');
    state.textContent = sale.paused ? t('statePaused') : Date.parse(sale.opensAt) > Date.now() ? `${t('statePre')} ${time(sale.opensAt)}` : t('stateOpen');
    state.dataset.paused = String(sale.paused);
    $('pause').textContent = t(sale.paused ? 'resume' : 'pause');
    this.renderLegend();
    this.renderDates();
    this.renderAudit();
  }

  renderLegend() {
    $('legend').replaceChildren(
      ...SERIES.map((s) => {
        const li = document.createElement('li');
        li.className = `legend-${s.className}`;
        const value = this.latest ? ` ${count(this.latest[s.key])}` : '';
        li.textContent = `${t(s.key === 'admittedLastMinute' ? 'admittedPerMinute' : s.key)}${value}`;
        return li;
      }),
    );
  }

  fillForm() {
    const { sale } = this.concert;
    $('opensAt').value = toLocalInput(sale.opensAt);
    $('admitPerTick').value = String(sale.admitPerTick);
    $('maxActive').value = String(sale.maxActive);
    $('activeTtlSeconds').value = String(sale.activeTtlSeconds);
    $('challenge').checked = sale.challenge === 'pow';
  }

  renderDates() {
    if (!this.concert) return;
    const live = new Map((this.latest?.dates ?? []).map((d) => [d.dateId, d]));
    $('date-rows').replaceChildren(
      ...this.concert.dates.map((d) => {
        const s = live.get(d.id);
        const tr = document.createElement('tr');
        tr.dataset.testid = `date-${d.id}`;
        for (const text of [time(d.startsAt), s ? count(s.free) : '–', s ? count(s.held) : '–', s ? count(s.sold) : '–']) {
          const td = document.createElement('td');
          td.textContent = text;
          tr.appendChild(td);
        }
        return tr;
      }),
    );
  }

  renderAudit() {
    const list = $('audit');
    if (this.entries.length === 0) {
      const li = document.createElement('li');
      li.textContent = t('noAudit');
      list.replaceChildren(li);
      return;
    }
    list.replaceChildren(
      ...this.entries.map((entry) => {
        const li = document.createElement('li');
        const at = document.createElement('time');
        at.dateTime = entry.at;
        at.textContent = time(entry.at);
        const what = Object.entries(entry.change).map(([field, [before, after]]) => `${field}: ${show(before)} → ${show(after)}`);
        li.append(at, ` ${what.join('; ')}`);
        return li;
      }),
    );
  }

  async togglePause() {
    // The last outcome is cleared: the next one shown is this change's.
    this.message('');
    const paused = !this.concert.sale.paused;
    if (!(await confirmAction(t(paused ? 'confirmPause' : 'confirmResume', { title: this.concert.title })))) return;
    await this.change({ paused });
  }

  async saveSale() {
    this.message('');
    const form = {
      opensAt: fromLocalInput($('opensAt').value),
      admitPerTick: Number($('admitPerTick').value),
      maxActive: Number($('maxActive').value),
      activeTtlSeconds: Number($('activeTtlSeconds').value),
      challenge: $('challenge').checked ? 'pow' : 'off',
    };
    const { sale } = this.concert;
    // The form shows whole seconds: an opening time equal to the second is no change.
    const same = (f) => (f === 'opensAt' ? Math.floor(Date.parse(sale.opensAt) / 1000) === Math.floor(Date.parse(form.opensAt) / 1000) : sale[f] === form[f]);
    const patch = Object.fromEntries(FIELDS.filter((f) => !same(f)).map((f) => [f, form[f]]));
    if (Object.keys(patch).length === 0) {
      this.message(t('nothingChanged'));
      return;
    }
    const changes = Object.entries(patch).map(([f, v]) => `${t(f)} ${show(sale[f])} → ${show(v)}`).join(', ');
    if (!(await confirmAction(t('confirmSale', { title: this.concert.title, changes })))) return;
    await this.change(patch);
  }

  async addDate() {
    this.message('');
    const startsAt = fromLocalInput($('startsAt').value);
    const seats = { count: Number($('seatCount').value), price: Number($('seatPrice').value) };
    const grade = $('seatGrade').value.trim();
    if (grade) seats.grade = grade;
    if (!(await confirmAction(t('confirmDate', { title: this.concert.title, date: time(startsAt), count: count(seats.count), price: money(seats.price) })))) return;
    try {
      await this.api.addDate(this.concertId, { startsAt, seats });
      this.message(t('saved'));
      await this.load();
    } catch (err) {
      this.message(t('failed', { message: err.message }));
    }
  }

  async change(patch) {
    try {
      const sale = await this.api.updateSale(this.concertId, patch);
      this.concert.sale = sale;
      this.entries = await this.api.audit(this.concertId);
      this.onSale(sale);
      this.fillForm();
      this.render();
      this.message(t('saved'));
    } catch (err) {
      this.message(t('failed', { message: err.message }));
    }
  }
}

function show(value) {
  if (value === null || value === undefined) return '–';
  if (typeof value === 'string' && /^\d{4}-\d\d-\d\dT/.test(value)) return time(value);
  if (typeof value === 'object') return value.startsAt ? `${time(value.startsAt)} (${count(value.totalSeats)})` : JSON.stringify(value);
  return String(value);
}
