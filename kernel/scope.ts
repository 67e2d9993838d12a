import { canAct, canSee, describeScopeRefusal, Identity, Ownership } from './identity';

/** What a list query must be narrowed to for the caller; `null` means everything. */
export type ListFilter = null | { customers: readonly string[] } | { pbxId: string; networkId: string | null; customerId: string | null };

/**
 * The caller's scope within one request: answers "may I see / act on this?"
 * for things described by their Ownership. For a PBX token it looks the PBX
 * up once (through the request's loader) to know its network and customer.
 */
export class Scope {
  private own: Promise<Ownership | null> | null = null;

  constructor(
    readonly identity: Identity,
    private readonly lookupPbx: (serial: string) => Promise<Ownership | null>,
  ) {}

  private ownership(): Promise<Ownership | null> {
    if (this.identity.role !== 'pbx' || !this.identity.pbx) return Promise.resolve(null);
    return (this.own ??= this.lookupPbx(this.identity.pbx));
  }

  async sees(thing: Ownership): Promise<boolean> {
    return canSee(this.identity, thing, await this.ownership());
  }

  async assertSees(thing: Ownership, kind: string, id: string): Promise<void> {
    if (!(await this.sees(thing))) throw describeScopeRefusal(kind, id);
  }

  async assertActs(thing: Ownership, kind: string, id: string): Promise<void> {
    if (!canAct(this.identity, thing, await this.ownership())) throw describeScopeRefusal(kind, id);
  }

  /** Keeps the visible ones, order kept. */
  async filter<T>(items: readonly T[], ownershipOf: (item: T) => Ownership): Promise<T[]> {
    const own = await this.ownership();
    return items.filter((item) => canSee(this.identity, ownershipOf(item), own));
  }

  async listFilter(): Promise<ListFilter> {
    switch (this.identity.role) {
      case 'admin':
      case 'analyst':
        return null;
      case 'partner':
        return { customers: this.identity.customers };
      case 'pbx': {
        const own = await this.ownership();
        return { pbxId: this.identity.pbx ?? '', networkId: own?.networkId ?? null, customerId: own?.customerId ?? null };
      }
    }
  }
}
