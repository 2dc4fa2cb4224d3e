/** The operator HTTP API with the admin token as a bearer token; a refusal throws its protocol error. */
export class AdminApi {
  constructor(token) {
    this.token = token;
  }

  async request(method, path, body) {
    const headers = { authorization: `Bearer ${this.token}` };
    if (body !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    const data = await res.json().catch(() => ({}));
    if (!res.ok) {
      const error = new Error(data.error?.message ?? `HTTP ${res.status}`);
      error.code = data.error?.code ?? 'INTERNAL';
      throw error;
    }
    return data;
  }

  concerts = () => this.request('GET', '/admin/concerts').then((d) => d.concerts);
  concert = (id) => this.request('GET', `/admin/concerts/${id}`).then((d) => d.concert);
  updateSale = (id, patch) => this.request('PATCH', `/admin/concerts/${id}/sale`, patch).then((d) => d.sale);
  addDate = (id, date) => this.request('POST', `/admin/concerts/${id}/dates`, date).then((d) => d.date);
  audit = (id, limit = 20) => this.request('GET', `/admin/audit?concertId=${id}&limit=${limit}`).then((d) => d.entries);
}
