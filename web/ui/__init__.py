"""What the pages share: the request's surroundings, filters, form rendering, a case's record and history."""
