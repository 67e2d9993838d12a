import { GraphQLSafeInt } from 'graphql-scalars';
import { Arg, Ctx, Field, ID, InputType, Int, Mutation, ObjectType, Query, registerEnumType, Resolver } from 'type-graphql';
import { DataCategory } from '../../../kernel/domain/enums';
import { StorageContext } from '../context';

export enum UploadTransportKind {
  CDS_GATEWAY = 'CDS_GATEWAY',
  S3_PUT = 'S3_PUT',
  S3_MULTIPART = 'S3_MULTIPART',
}
registerEnumType(UploadTransportKind, {
  name: 'UploadTransport',
  description: "How an upload grant's bytes travel into the CDS store of the PBX's region",
  valuesConfig: {
    CDS_GATEWAY: { description: "POST to the gateway's upload endpoint (`url`), which writes into the region's directory store" },
    S3_PUT: { description: 'PUT the bytes to the presigned `url` with `headers`' },
    S3_MULTIPART: { description: 'PUT each part to its presigned url, then completeMultipartUpload with the ETags' },
  },
});

@InputType({ description: 'A file an agent is about to upload: what it declares' })
class UploadRequestInput {
  @Field(() => DataCategory) category!: DataCategory;
  @Field({ description: "Path relative to the PBX's storage root" }) sourcePath!: string;
  @Field(() => GraphQLSafeInt) sizeBytes!: number;
  @Field({ description: 'Hex SHA-256 of the bytes to be uploaded' }) sha256!: string;
}

@ObjectType()
class HttpHeader {
  @Field() name!: string;
  @Field() value!: string;
}

@ObjectType({ description: 'One part of a presigned multipart upload' })
class UploadPart {
  @Field(() => Int) partNumber!: number;
  @Field(() => GraphQLSafeInt, { description: 'Where the part starts in the file' }) offset!: number;
  @Field(() => GraphQLSafeInt) sizeBytes!: number;
  @Field() url!: string;
  @Field(() => [HttpHeader]) headers!: HttpHeader[];
}

@ObjectType({ description: 'Permission to put one object into CDS: the key CDS chose, the declared size and SHA-256, until expiresAt' })
class UploadGrant {
  @Field(() => DataCategory) category!: DataCategory;
  @Field() sourcePath!: string;
  @Field({ description: "The object's key, chosen by CDS: under the PBX's own prefix, derived from the file and its SHA-256" })
  objectKey!: string;
  @Field(() => GraphQLSafeInt) sizeBytes!: number;
  @Field() sha256!: string;
  @Field(() => UploadTransportKind) transport!: UploadTransportKind;
  @Field({ description: 'The signed grant: sent with a CDS_GATEWAY upload; presented to complete a multipart upload' }) token!: string;
  @Field(() => String, { nullable: true, description: 'Where to send the bytes (a path at the gateway for CDS_GATEWAY)' }) url!:
    string | null;
  @Field(() => [HttpHeader], { description: 'Headers the request must carry exactly (the signature covers them)' }) headers!: HttpHeader[];
  @Field(() => [UploadPart]) parts!: UploadPart[];
  @Field() expiresAt!: Date;
}

@InputType()
class CompletedPartInput {
  @Field(() => Int) partNumber!: number;
  @Field() etag!: string;
}

@ObjectType({ description: 'Whether the CDS copy of a file still verifies, read from the store just now' })
class CdsCopyCheck {
  @Field() sourcePath!: string;
  @Field(() => String, { nullable: true }) objectKey!: string | null;
  @Field(() => GraphQLSafeInt) sizeBytes!: number;
  @Field(() => String, { nullable: true, description: 'The SHA-256 CDS recorded when it counted the file' }) sha256!: string | null;
  @Field() verified!: boolean;
  @Field(() => String, { nullable: true }) reason!: string | null;
}

/** The data path: upload grants, multipart completion, and copy checks before a purge. */
@Resolver()
export class UploadResolver {
  @Mutation(() => [UploadGrant], {
    description:
      'Upload grants for files of a migration this agent run holds (at most 1000 a call): CDS chooses each key; a grant is short-lived and single-use',
  })
  requestUploadGrants(
    @Arg('migrationId', () => ID) migrationId: string,
    @Arg('runToken') runToken: string,
    @Arg('items', () => [UploadRequestInput]) items: UploadRequestInput[],
    @Ctx() { services, loaders }: StorageContext,
  ) {
    return services.lifecycle.grants(loaders, migrationId, runToken, items);
  }

  @Mutation(() => String, {
    description: "Completes a presigned multipart upload (the grant's token and each part's ETag); answers the object key",
  })
  completeMultipartUpload(
    @Arg('migrationId', () => ID) migrationId: string,
    @Arg('runToken') runToken: string,
    @Arg('token') token: string,
    @Arg('parts', () => [CompletedPartInput]) parts: CompletedPartInput[],
    @Ctx() { services, loaders }: StorageContext,
  ) {
    return services.lifecycle.completeUpload(loaders, migrationId, runToken, token, parts);
  }

  @Query(() => [CdsCopyCheck], {
    description: "Re-verifies the CDS copies of a PBX's files (at most 1000 a call): what an agent asks before it removes a local copy",
  })
  cdsCopyChecks(
    @Arg('pbxId', () => ID) pbxId: string,
    @Arg('category', () => DataCategory) category: DataCategory,
    @Arg('sourcePaths', () => [String]) sourcePaths: string[],
    @Ctx() { services, loaders }: StorageContext,
  ) {
    return services.lifecycle.checkCopies(loaders, pbxId, category, sourcePaths);
  }
}
