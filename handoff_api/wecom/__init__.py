"""Enterprise WeChat (WeCom, 企业微信) channel: crypto, parser, callback router, outbound client."""
