"""The award criteria of the demo city's tenders (one copy for the demo and its red-flag cases)."""

SOCIAL = [("price", 30, "Lowest price gets full marks; others in proportion."),
          ("quality", 30, "Staffing plan, continuity of carers, supervision."),
          ("social_inclusion", 15, "Share of staff hired from the work-integration list."),
          ("user_participation", 15, "How families and users take part in designing the service."),
          ("fair_wages", 10, "Wage ratio and the collective agreement applied.")]
GREEN = [("price", 40, ""), ("quality", 20, ""), ("environmental", 20, "Electric vehicles, no pesticides."),
         ("local_employment", 20, "Staff living in the neighbourhood.")]
