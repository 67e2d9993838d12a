import { Field, Int, ObjectType } from 'type-graphql';
import { Column, Entity, Index, PrimaryColumn } from 'typeorm';
import { InstantColumn } from '../../../kernel/columns';

/**
 * One address of a region's static-IP pool, and its assignment (rule 8). Pool
 * and assignment share the row so the database itself guarantees that an
 * address is never on two PBXs (one row per address) and a PBX never holds two
 * addresses (unique pbxId; NULLs, the free addresses, do not collide).
 * Served as `StaticIp` only while assigned; assigning sets pbxId and assignedAt
 * together and releasing clears both.
 */
@ObjectType('StaticIp', { description: "A public IPv4 address assigned to a cloud PBX from its region's pool" })
@Entity('static_ip_address')
@Index('IX_static_ip_region_free', ['region', 'pbxId'])
@Index('UQ_static_ip_pbx', ['pbxId'], { unique: true })
export class StaticIpAddress {
  @Field() @PrimaryColumn({ type: 'varchar', length: 15 }) address!: string;
  @Column({ type: 'varchar', length: 32 }) region!: string;
  @Column({ type: 'varchar', length: 64, nullable: true }) pbxId!: string | null;
  @Field(() => Date) @InstantColumn({ nullable: true }) assignedAt!: Date | null;
}

/** A region's pool as an admin sees it after adding addresses. */
@ObjectType('StaticIpPool', { description: "A region's pool of static IPs" })
export class StaticIpPool {
  @Field() region!: string;
  @Field(() => Int, { description: 'Addresses in the pool, assigned or not' }) size!: number;
  @Field(() => Int, { description: 'Addresses not assigned to a PBX' }) available!: number;
}
