"""Registered event types of products, deal line items and quotes."""

from rapport.audit.events import register

PRODUCT_CREATED = register("product.created", "Product created")
PRODUCT_UPDATED = register("product.updated", "Product changed")
PRODUCT_DELETED = register("product.deleted", "Product deleted")
DEAL_LINE_ITEMS_SET = register("deal.line_items_set", "Deal line items changed")
QUOTE_CREATED = register("quote.created", "Quote created")
QUOTE_UPDATED = register("quote.updated", "Quote changed")
QUOTE_REVISED = register("quote.revised", "Quote revised after sending")
QUOTE_SENT = register("quote.sent", "Quote sent")
QUOTE_ACCEPTED = register("quote.accepted", "Quote accepted")
QUOTE_DECLINED = register("quote.declined", "Quote declined")
QUOTE_DELETED = register("quote.deleted", "Draft quote deleted")
