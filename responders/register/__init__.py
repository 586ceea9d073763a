"""The register of disclosure requests (依申请公开) and of the reconsiderations and lawsuits
about them, and what the annual report needs from it.

- `calendar`  — working days: weekends, public holidays and 调休 from config/holidays.yaml (pure
  once loaded);
- `deadlines` — the statutory reply deadline (《政府信息公开条例》第三十条、第三十三条), pure;
- `outcomes`  — the official outcome categories and applicant types (国办公开办函〔2021〕30号);
- `models`    — the tables (`disclosure_requests`, `disclosure_cases`, `request_documents`);
- `service`   — writes with audit entries (flush only; the boundary commits);
- `importing` — a year's register from a CSV/XLSX spreadsheet with a column mapping;
- `demo`      — the bundled demo year (config/demo/register/).
"""
