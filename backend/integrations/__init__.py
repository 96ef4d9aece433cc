"""The other systems: Bitrix24 (``bitrix24``), 1C:Enterprise over OData (``onec``) and bank files
(``bank``). The core never calls them: it writes outbox rows (:mod:`.outbox_rows`) in the
transaction of a change, and a worker per system (:mod:`.worker`) carries them out."""
