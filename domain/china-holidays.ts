/**
 * Mainland China's statutory holidays and make-up working days (调休), as published by the
 * General Office of the State Council: 国办发明电〔2024〕12号 (2025) and 国办发明电〔2025〕7号 (2026).
 * Seeded into the calendar table by the first migration run; operators extend it through the API.
 * The 2026 dates were checked on 2026-11-29 against the notice's text (Xinhua, 2025-11-04) and the
 * NateScarlet/holiday-cn data (2026.json): they agree day for day.
 */
export interface CalendarEntry {
  date: string;
  kind: 'holiday' | 'workday';
  name: string;
}

function range(from: string, to: string, name: string): CalendarEntry[] {
  const out: CalendarEntry[] = [];
  for (let t = Date.parse(`${from}T00:00:00Z`); t <= Date.parse(`${to}T00:00:00Z`); t += 86_400_000) {
    out.push({ date: new Date(t).toISOString().slice(0, 10), kind: 'holiday', name });
  }
  return out;
}
const workday = (date: string, name: string): CalendarEntry => ({ date, kind: 'workday', name });

export const CHINA_CALENDAR_2025_2026: CalendarEntry[] = [
  // 2025
  ...range('2025-01-01', '2025-01-01', "New Year's Day"),
  ...range('2025-01-28', '2025-02-04', 'Spring Festival'),
  workday('2025-01-26', 'Spring Festival make-up working day'),
  workday('2025-02-08', 'Spring Festival make-up working day'),
  ...range('2025-04-04', '2025-04-06', 'Qingming Festival'),
  ...range('2025-05-01', '2025-05-05', 'Labour Day'),
  workday('2025-04-27', 'Labour Day make-up working day'),
  ...range('2025-05-31', '2025-06-02', 'Dragon Boat Festival'),
  ...range('2025-10-01', '2025-10-08', 'National Day and Mid-Autumn Festival'),
  workday('2025-09-28', 'National Day make-up working day'),
  workday('2025-10-11', 'National Day make-up working day'),
  // 2026
  ...range('2026-01-01', '2026-01-03', "New Year's Day"),
  workday('2026-01-04', "New Year's Day make-up working day"),
  ...range('2026-02-15', '2026-02-23', 'Spring Festival'),
  workday('2026-02-14', 'Spring Festival make-up working day'),
  workday('2026-02-28', 'Spring Festival make-up working day'),
  ...range('2026-04-04', '2026-04-06', 'Qingming Festival'),
  ...range('2026-05-01', '2026-05-05', 'Labour Day'),
  workday('2026-05-09', 'Labour Day make-up working day'),
  ...range('2026-06-19', '2026-06-21', 'Dragon Boat Festival'),
  ...range('2026-09-25', '2026-09-27', 'Mid-Autumn Festival'),
  ...range('2026-10-01', '2026-10-07', 'National Day'),
  workday('2026-09-20', 'National Day make-up working day'),
  workday('2026-10-10', 'National Day make-up working day'),
];
