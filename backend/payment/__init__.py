"""How a self-payer pays: the payee's dated details and what a payment made today would buy."""
