"""The box office: cinemas, halls and seat maps, showtimes, seat holds (orders and tickets next)."""
