"""Identity and access as the API shows it: sign-in mutations, the desk's consent windows,
integrators' eligibility look-ups, and the access audit a person reads about themself."""
