"""WeChat's official-account protocol and API client: message XML, signatures and safe-mode
crypto, the access token, the HTTP exchange and the platform's error codes. It knows nothing of
this application."""
