"""Building blocks of the print forms: the sum in words and the payment QR code."""
