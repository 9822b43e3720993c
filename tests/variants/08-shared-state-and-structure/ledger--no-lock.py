# loses: ledger_never_loses_an_update ledger_accounts_proceed_independently
class Ledger:
    """Balances in a database; concurrent deposits to one account never lose an update."""

    def __init__(self, db):
        self.db = db

    async def deposit(self, account: str, amount: int) -> int:
        """Add `amount` to the balance of `account` in the database; return the new balance."""
        balance = (await self.db.get(account) or 0) + amount
        await self.db.insert(account, balance)
        return balance
