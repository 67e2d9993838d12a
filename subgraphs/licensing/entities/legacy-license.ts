import { Field, ID, Int, ObjectType } from 'type-graphql';
import { Column, Entity, PrimaryColumn } from 'typeorm';
import { InstantColumn } from '../../../kernel/columns';

/** Storage licences a PBX bought before bundles existed (the input of the legacy transition, rule 9). */
@ObjectType('LegacyLicenses', { description: 'Storage licences a PBX bought before bundles existed' })
@Entity('legacy_license')
export class LegacyLicense {
  @Field(() => ID, { description: 'The PBX serial' }) @PrimaryColumn({ type: 'varchar', length: 64 }) pbxId!: string;
  @Field(() => Int) @Column({ type: 'int', default: 0 }) count!: number;
  @InstantColumn() updatedAt!: Date;
}
